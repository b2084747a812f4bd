package dev.sortie.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outside a scheduled run: the SDK runs `sortie track open`. Here `sortie` is a fake (a shell script named by
 * SORTIE_BIN, in a folder with a space in its name) that records its arguments and working directory and
 * prints what the real one prints.
 */
@Tag("integration")
class OutsideRunTest {
    static final String FAKE_SORTIE = """
            #!/bin/sh
            here="${0%/*}"
            pwd > "$here/cwd"
            printf '%s\\0' "$@" > "$here/args"
            if [ -n "$FAKE_SORTIE_FAIL" ]; then
              echo "sortie: error: no Sortie project here (run sortie init)" >&2
              exit 2
            fi
            if [ -n "$FAKE_SORTIE_GARBAGE" ]; then
              echo "Picked up JAVA_TOOL_OPTIONS: nothing useful"
              exit 0
            fi
            run="$here/runs/f00dfeed42"
            echo "sortie: opened" >&2
            printf '{"id": "f00dfeed42", "name": "nb \\\\u00e9 \\\\"3\\\\"", "events_file": "%s", "artifact_dir": "%s"}\\n' \\
              "$run/events.jsonl" "$run/artifacts"
            """;

    @TempDir
    Path dir;
    Path bin;
    Path project;
    Map<String, String> env;

    @BeforeEach
    void setUp() throws Exception {
        bin = Files.createDirectories(dir.resolve("fake bin")).resolve("sortie");
        Files.writeString(bin, FAKE_SORTIE);
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
        project = Files.createDirectories(dir.resolve("project"));
        env = new HashMap<>();
        env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        env.put("SORTIE_BIN", "'" + bin + "'");
    }

    private List<String> args() throws Exception {
        String raw = new String(Files.readAllBytes(bin.resolveSibling("args")), StandardCharsets.UTF_8);
        return raw.isEmpty() ? List.of() : Arrays.asList(raw.substring(0, raw.length() - 1).split("\0", -1));
    }

    private Path eventsFile() {
        return bin.resolveSibling("runs").resolve("f00dfeed42").resolve("events.jsonl");
    }

    @Test
    void opensATrackedRunAndEndsItSucceeded() throws Exception {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("lr", 0.1);
        params.put("train", Map.of("epochs", 5));
        params.put("tag", "it's \"quoted\" $(rm -rf ~)");
        String pid = Long.toString(ProcessHandle.current().pid());
        try (Run run = Sortie.builder().env(env).workingDirectory(project).name("my run").params(params).start()) {
            assertThat(run.insideScheduledRun()).isFalse();
            assertThat(run.id()).isEqualTo("f00dfeed42");
            assertThat(run.name()).isEqualTo("nb \u00e9 \"3\"");
            assertThat(run.eventsFile()).isEqualTo(eventsFile());
            assertThat(run.artifactDir()).contains(bin.resolveSibling("runs/f00dfeed42/artifacts"));
            run.log("loss", 0.3);
            run.log("loss", 0.25, 5);
            run.log(Map.of("acc", 0.9), 5);
        }
        List<String> args = args();
        assertThat(args.subList(0, 7)).containsExactly("track", "open", "--pid", pid, "--name", "my run", "--params");
        assertThat(args).hasSize(8);
        assertThat(Json.parse(args.get(7))).isEqualTo(Map.of("lr", 0.1, "train", Map.of("epochs", 5L),
                "tag", "it's \"quoted\" $(rm -rf ~)"));
        assertThat(Path.of(Files.readString(bin.resolveSibling("cwd")).strip()).toRealPath())
                .isEqualTo(project.toRealPath());
        List<Map<String, Object>> events = Events.read(eventsFile());
        assertThat(events).extracting(e -> e.get("e")).containsExactly("m", "m", "end");
        assertThat(Events.metric(events, "loss")).containsExactly(0.3, 0.25);
        assertThat(events.get(2)).containsEntry("status", "succeeded").doesNotContainKey("error");
    }

    @Test
    void noNameNoParams() throws Exception {
        try (Run run = Sortie.builder().env(env).workingDirectory(project).start()) {
            run.log("x", 1);
        }
        assertThat(args()).containsExactly("track", "open", "--pid", Long.toString(ProcessHandle.current().pid()));
    }

    @Test
    void failMakesTheEndFailed() throws Exception {
        try (Run run = Sortie.builder().env(env).workingDirectory(project).start()) {
            run.log("loss", Double.NaN, 3);
            run.fail(new ArithmeticException("loss is NaN"));
        }
        List<Map<String, Object>> events = Events.read(eventsFile());
        assertThat(events).extracting(e -> e.get("e")).containsExactly("m", "end");
        assertThat(events.get(1)).containsEntry("status", "failed")
                .containsEntry("error", "java.lang.ArithmeticException: loss is NaN");
    }

    @Test
    void sortieBinMayBeACommandLine() throws Exception {
        env.put("SORTIE_BIN", "/bin/sh \"" + bin + "\"");
        try (Run run = Sortie.builder().env(env).workingDirectory(project).name("n").start()) {
            assertThat(run.id()).isEqualTo("f00dfeed42");
        }
        assertThat(args()).containsSequence("--name", "n");
    }

    @Test
    void aFailingTrackOpenIsReportedWithWhatItSaid() {
        env.put("FAKE_SORTIE_FAIL", "1");
        assertThatThrownBy(() -> Sortie.builder().env(env).workingDirectory(project).start())
                .isInstanceOf(SortieException.class)
                .hasMessageContaining("`sortie track open` failed (exit 2)")
                .hasMessageContaining("no Sortie project here");
    }

    @Test
    void outputThatIsNotTheJsonIsReported() {
        env.put("FAKE_SORTIE_GARBAGE", "1");
        assertThatThrownBy(() -> Sortie.builder().env(env).workingDirectory(project).start())
                .isInstanceOf(SortieException.class)
                .hasMessageContaining("printed no usable JSON")
                .hasMessageContaining("Picked up JAVA_TOOL_OPTIONS");
    }

    @Test
    void aSortieBinThatCannotRunIsReported() {
        env.put("SORTIE_BIN", dir.resolve("nowhere/sortie").toString());
        assertThatThrownBy(() -> Sortie.builder().env(env).workingDirectory(project).start())
                .isInstanceOf(SortieException.class)
                .hasMessageContaining("cannot run")
                .hasMessageContaining("SORTIE_BIN");
    }

    @Test
    void sortieIsFoundOnPath() throws Exception {
        env.remove("SORTIE_BIN");
        env.put("PATH", dir.resolve("empty") + ":" + bin.getParent() + ":" + env.get("PATH"));
        try (Run run = Sortie.builder().env(env).workingDirectory(project).start()) {
            assertThat(run.id()).isEqualTo("f00dfeed42");
        }
    }
}
