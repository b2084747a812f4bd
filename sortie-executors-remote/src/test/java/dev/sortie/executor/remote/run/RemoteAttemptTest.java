package dev.sortie.executor.remote.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RemoteAttemptTest {
    static ArtifactRecord record(String path, String hash) {
        return new ArtifactRecord(ArtifactKind.ARTIFACT, path, hash, 1, Instant.EPOCH);
    }

    @Test
    void outputRecordsFromAHostMustNameAPathInsideTheRunAndAHash() {
        String h = "a".repeat(64);
        assertThat(RemoteAttempt.wellFormed(record("model.bin", h))).isTrue();
        assertThat(RemoteAttempt.wellFormed(record("out/ckpt/step..1.pt", h))).isTrue();
        assertThat(RemoteAttempt.wellFormed(record("../../.bashrc", h))).isFalse();
        assertThat(RemoteAttempt.wellFormed(record("a/../../b", h))).isFalse();
        assertThat(RemoteAttempt.wellFormed(record("/etc/passwd", h))).isFalse();
        assertThat(RemoteAttempt.wellFormed(record("", h))).isFalse();
        assertThat(RemoteAttempt.wellFormed(record("model.bin", "../" + h))).isFalse();
        assertThat(RemoteAttempt.wellFormed(record("model.bin", "A".repeat(64)))).isFalse();
    }
}
