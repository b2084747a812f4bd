package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.sshd.client.SshClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CipherPreferenceTest {
    @AfterEach
    void clear() {
        System.clearProperty("sortie.jit");
    }

    @Test
    void aesGcmComesFirstWithTheOptimisingCompilerAndNothingIsDropped() {
        var defaults = SshClient.setUpDefaultClient().getCipherFactories();
        var ordered = ConnectionOpener.preferredCiphers(defaults);
        assertThat(ordered.get(0).getName()).startsWith("aes").contains("-gcm");
        assertThat(ordered).containsExactlyInAnyOrderElementsOf(defaults);
    }

    @Test
    void withTheQuickStartingCompilerOnlyMinasOrderIsKept() {
        System.setProperty("sortie.jit", "c1");
        var defaults = SshClient.setUpDefaultClient().getCipherFactories();
        assertThat(ConnectionOpener.preferredCiphers(defaults)).isEqualTo(List.copyOf(defaults));
    }
}
