package dev.sortie.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which command is `sortie`: $SORTIE_BIN split like a shell would, else PATH, else a clear error. */
class CommandLineTest {
    @TempDir
    Path dir;

    @Test
    void splitsLikeAShellWithoutExpandingAnything() {
        assertThat(TrackOpen.splitCommandLine("sortie")).containsExactly("sortie");
        assertThat(TrackOpen.splitCommandLine("  java  -jar /opt/sortie.jar ")).containsExactly("java", "-jar", "/opt/sortie.jar");
        assertThat(TrackOpen.splitCommandLine("'/my dir/sortie' -C \"a b\" x'y z'w"))
                .containsExactly("/my dir/sortie", "-C", "a b", "xy zw");
        assertThat(TrackOpen.splitCommandLine("a\\ b '' \"q\\\"uote\" '$HOME' \"it's\""))
                .containsExactly("a b", "", "q\"uote", "$HOME", "it's");
        assertThat(TrackOpen.splitCommandLine("   ")).isEmpty();
        assertThatThrownBy(() -> TrackOpen.splitCommandLine("'/unterminated"))
                .isInstanceOf(SortieException.class).hasMessageContaining("unterminated single quote");
    }

    @Test
    void sortieBinWinsOverPath() throws Exception {
        Path onPath = executable(dir.resolve("bin").resolve("sortie"));
        assertThat(TrackOpen.sortieCommand(Map.of("SORTIE_BIN", "java -jar 'x y.jar'", "PATH", onPath.getParent().toString())))
                .containsExactly("java", "-jar", "x y.jar");
        assertThat(TrackOpen.sortieCommand(Map.of("SORTIE_BIN", " ", "PATH", "/nonexistent:" + onPath.getParent())))
                .containsExactly(onPath.toString());
    }

    @Test
    void aFileThatIsNotExecutableIsNotTheCommand() throws Exception {
        Path plain = Files.createDirectories(dir.resolve("plain")).resolve("sortie");
        Files.writeString(plain, "#!/bin/sh\n");
        assertThat(TrackOpen.onPath("sortie", plain.getParent().toString())).isNull();
    }

    @Test
    void noSortieAnywhereSaysHowToInstallIt() {
        Map<String, String> env = Map.of("PATH", dir.toString());
        assertThatThrownBy(() -> Sortie.builder().env(env).workingDirectory(dir).start())
                .isInstanceOf(IllegalStateException.class)
                .isInstanceOf(SortieException.class)
                .hasMessageContaining("`sortie` command was not found")
                .hasMessageContaining("PATH")
                .hasMessageContaining("SORTIE_BIN");
    }

    static Path executable(Path p) throws Exception {
        Files.createDirectories(p.getParent());
        Files.writeString(p, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void parsesTheLastLineOfOutput() {
        TrackOpen.Info info = TrackOpen.parse("warming up\n{\"id\":\"a1\",\"name\":\"n\",\"events_file\":\"/x/e.jsonl\","
                + "\"artifact_dir\":\"/x/artifacts\"}\n\n", "");
        assertThat(info).isEqualTo(new TrackOpen.Info("a1", "n", Path.of("/x/e.jsonl"), Path.of("/x/artifacts")));
        assertThatThrownBy(() -> TrackOpen.parse("{\"id\":\"a1\"}", "oops"))
                .isInstanceOf(SortieException.class).hasMessageContaining("no events_file").hasMessageContaining("oops");
        assertThatThrownBy(() -> TrackOpen.parse("", "")).hasMessageContaining("no output");
        assertThatThrownBy(() -> TrackOpen.parse("[1]", "")).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> TrackOpen.parse("{bad", "")).hasMessageContaining("not JSON");
    }
}
