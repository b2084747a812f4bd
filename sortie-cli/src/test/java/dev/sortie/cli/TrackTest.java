package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs started by hand and reported through the event protocol, with real watcher processes. */
@Tag("integration")
class TrackTest {
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("README", "x\n").commit();
        project.sortie("init");
    }

    Ledger ledger() {
        return SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"));
    }

    /** A shell "notebook": opens a tracked run for itself with the CLI (as a JVM), then writes events. */
    private Process notebook(String events) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        project.write("nb.sh", """
                out=$("$JAVA" -cp "$CP" dev.sortie.cli.Main track open --pid $$ --name nb --params '{"lr": 0.5, "opt": {"name": "adam"}}')
                ev=$(printf '%s' "$out" | sed 's/.*"events_file":"\\([^"]*\\)".*/\\1/')
                """ + events);
        ProcessBuilder pb = new ProcessBuilder("sh", "nb.sh").directory(project.dir.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("nb.log").toFile());
        pb.environment().put("JAVA", java);
        pb.environment().put("CP", cp);
        return pb.start();
    }

    @Test
    void eventsLandInTheTableAndEndTheRun() throws Exception {
        Process nb = notebook("""
                for i in 0 1 2; do echo "{\\"e\\":\\"m\\",\\"s\\":$i,\\"v\\":{\\"loss\\":1.$i}}" >> "$ev"; done
                echo '{"e":"m","v":{"acc":0.9}}' >> "$ev"
                echo weights > model.bin
                echo "{\\"e\\":\\"a\\",\\"path\\":\\"$PWD/model.bin\\"}" >> "$ev"
                echo '{"e":"end","status":"succeeded"}' >> "$ev"
                """);
        assertThat(nb.waitFor()).as(Files.readString(tmp.resolve("nb.log"))).isZero();
        Experiment e = project.awaitEnd("nb");
        assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(e.params().get("opt.name")).contains("adam");
        assertThat(e.code().snapshotCommit()).isNotNull();
        try (Ledger l = ledger()) {
            assertThat(l.series(e.id(), "loss")).hasSize(3);
            assertThat(l.latestMetrics(e.id())).containsEntry("loss", 1.2).containsEntry("acc", 0.9);
            assertThat(l.artifacts(e.id())).extracting(ArtifactRecord::path).containsExactly("model.bin");
        }
        assertThat(project.sortie("show", "--columns", "name,status,lr,loss").out()).contains("nb").contains("succeeded");
    }

    @Test
    void aFailedEndKeepsWhatWasLogged() throws Exception {
        Process nb = notebook("""
                echo '{"e":"m","v":{"loss":3}}' >> "$ev"
                echo '{"e":"end","status":"failed","error":"ValueError: boom"}' >> "$ev"
                """);
        nb.waitFor();
        Experiment e = project.awaitEnd("nb");
        assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(e.error()).isEqualTo("ValueError: boom");
        try (Ledger l = ledger()) {
            assertThat(l.latestMetrics(e.id())).containsEntry("loss", 3.0);
        }
    }

    @Test
    void aProcessThatDiesWithoutEndingIsInterruptedWithItsMetrics() throws Exception {
        Process nb = notebook("""
                echo '{"e":"m","v":{"loss":2}}' >> "$ev"
                printf '%s' '{"e":"m","v":{"half":1}' >> "$ev"
                kill -9 $$
                """);
        nb.waitFor();
        Experiment e = project.awaitEnd("nb");
        assertThat(e.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
        try (Ledger l = ledger()) {
            assertThat(l.latestMetrics(e.id())).containsOnlyKeys("loss");
        }
    }

    @Test
    void badArgumentsAreUsageErrors() throws Exception {
        assertThat(project.sortie("track", "open", "--params", "[1]").code()).isEqualTo(2);
        assertThat(project.sortie("track", "open", "--pid", "999999999").code()).isEqualTo(2);
    }
}
