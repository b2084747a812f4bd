package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python SDK (sdk/python, imported from the checkout) against the real CLI: inside a scheduled run, and as a
 * script run by hand that tracks itself. Also runs the SDK's own unittest suite, so `mvn verify` covers it.
 */
@Tag("integration")
class PythonSdkTest {
    static final Path REPO = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    static final Path SDK = REPO.resolve("sdk/python");

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", """
                import sys, sortie
                with sortie.start(name="by-hand", params={"lr": 0.1, "opt": {"name": "adam"}}) as run:
                    for step in range(50):
                        run.log(loss=1.0 / (step + 1), step=step)
                    run.log(acc=0.5)
                    open("model.bin", "w").write("w")
                    run.log_artifact("model.bin")
                    if len(sys.argv) > 1:
                        raise ValueError("boom")
                """).commit();
        project.sortie("init");
    }

    private String sortieBin() {
        return ProcessHandle.current().info().command().orElse("java") + " -cp "
                + System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")) + " " + Main.class.getName();
    }

    private int python(List<String> args, Path log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(args).directory(project.dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PYTHONPATH", SDK.toString());
        pb.environment().put("SORTIE_BIN", sortieBin());
        Process p = pb.start();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    @Test
    void aScriptRunByHandLandsInTheTable() throws Exception {
        Path log = tmp.resolve("py.log");
        assertThat(python(List.of("python3", "train.py"), log)).as(Files.readString(log)).isZero();
        Experiment e = project.awaitEnd("by-hand");
        assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(e.params().get("opt.name")).contains("adam");
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.series(e.id(), "loss")).hasSize(50);
            assertThat(l.latestMetrics(e.id())).containsEntry("acc", 0.5);
            assertThat(l.artifacts(e.id())).extracting(ArtifactRecord::path).contains("model.bin");
        }
    }

    @Test
    void anExceptionMarksTheRunFailedAndKeepsWhatWasLogged() throws Exception {
        Path log = tmp.resolve("py.log");
        assertThat(python(List.of("python3", "train.py", "fail"), log)).isNotZero();
        Experiment e = project.awaitEnd("by-hand");
        assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(e.error()).contains("boom");
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.series(e.id(), "loss")).hasSize(50);
        }
    }

    @Test
    void insideAScheduledRunTheSdkAttachesToIt() throws Exception {
        TestProject.Result r = project.sortie("run", "-n", "scheduled", "--", "env", "PYTHONPATH=" + SDK, "python3", "train.py");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.list()).extracting(Experiment::name).containsExactly("scheduled");
            Experiment e = l.find("scheduled").orElseThrow();
            assertThat(l.series(e.id(), "loss")).hasSize(50);
            assertThat(l.artifacts(e.id())).extracting(ArtifactRecord::path).contains("model.bin");
        }
    }

    @Test
    void aScheduledRunThatRaisesIsFailedWithTheExceptionAsItsError() throws Exception {
        TestProject.Result r = project.sortie("run", "-n", "raises", "--", "env", "PYTHONPATH=" + SDK, "python3", "train.py", "fail");
        assertThat(r.code()).isEqualTo(1);
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("raises").orElseThrow();
            assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
            assertThat(e.error()).contains("ValueError: boom").contains("exited with code 1");
        }
    }

    @Test
    void metricsOfARunningExperimentShowWithinFiveSeconds() throws Exception {
        project.write("live.py", """
                import time, sortie
                with sortie.start() as run:
                    run.log(live_metric=42.0, step=1)
                    print("logged", flush=True)
                    time.sleep(60)
                """).commit();
        ProcessBuilder pb = project.processBuilder(tmp.resolve("cli.log"), "run", "-n", "live", "--", "env", "PYTHONPATH=" + SDK, "python3", "live.py");
        Process cli = pb.start();
        try {
            RunLifecycleTest.waitUntil("the run to log", Duration.ofSeconds(60), () -> {
                try {
                    return Files.readString(tmp.resolve("cli.log")).contains("logged");
                } catch (Exception e) {
                    return false;
                }
            });
            // The promise is "within 5 seconds"; the path is ~0.5 s (SDK flush, tail, ledger batch), so this has margin.
            RunLifecycleTest.waitUntil("the metric to show", Duration.ofSeconds(5), () -> {
                TestProject.Result show = project.sortie("show", "--json");
                return show.out().contains("\"live_metric\" : 42") && show.out().contains("running");
            });
            assertThat(project.sortie("status").out()).contains("live_metric=42");
        } finally {
            project.sortie("stop", "live", "--grace", "2s");
            cli.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void theSdksOwnUnitTestsPass() throws Exception {
        Process p = new ProcessBuilder("python3", "-m", "unittest", "discover", "-s", "sdk/python/tests")
                .directory(REPO.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }
}
