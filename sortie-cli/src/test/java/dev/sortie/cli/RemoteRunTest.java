package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs on a "remote" host end to end: a real OpenSSH sshd on loopback, the real agent started on it over SSH,
 * code synced into its cache, the run detached from the connection, collected into the real ledger and store.
 * The host's Sortie folder is a temp folder (remote_dir), so several tests never share a cache by accident.
 */
@Tag("integration")
class RemoteRunTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static SshHosts hosts;
    static SshdFixture sshd;

    @TempDir
    Path tmp;
    TestProject project;
    Path remote;

    @BeforeAll
    static void startSshd() throws Exception {
        hosts = SshHosts.start(1);
        sshd = hosts.get(0);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        if (hosts != null) {
            hosts.close();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        remote = tmp.resolve("host");
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", """
                        import os, sys, time
                        steps = int(sys.argv[1]); pause = float(sys.argv[2])
                        os.makedirs("checkpoints", exist_ok=True)
                        start = 0
                        if os.path.exists("checkpoints/step.txt"):
                            start = int(open("checkpoints/step.txt").read()) + 1
                            print("resumed at", start, flush=True)
                        for i in range(start, steps):
                            print(f"loss={1.0 / (i + 1):.4f} step={i}", flush=True)
                            # whole or not at all: a host or agent killed between open('w') and write would leave it empty
                            open("checkpoints/step.tmp", "w").write(str(i))
                            os.replace("checkpoints/step.tmp", "checkpoints/step.txt")
                            time.sleep(pause)
                        open("model.bin", "w").write("weights")
                        """)
                .write("sortie.yaml", """
                        name: remote
                        run: python3 train.py ${steps} ${pause}
                        params: {steps: 3, pause: 0}
                        checkpoints: checkpoints/
                        checkpoint_interval: 1s
                        artifacts: [model.bin]
                        """)
                .write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box", sshd, remote, "lost_after: 5s"))
                .commit();
    }

    @AfterEach
    void killLeftovers() throws Exception {
        // Agents are detached on purpose; a failed test must not leave them running.
        new ProcessBuilder("pkill", "-f", "AgentMain run " + remote).start().waitFor();
    }

    Ledger ledger() {
        return SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"));
    }

    Experiment only() {
        try (Ledger l = ledger()) {
            List<Experiment> all = l.list();
            assertThat(all).hasSize(1);
            return all.get(0);
        }
    }

    @Test
    void runsOnTheHostAndCollectsEverythingIntoTheLocalLedgerAndStore() throws Exception {
        TestProject.Result r = project.sortie("run", "-e", "box");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("loss=0.3333 step=2");
        Experiment exp = only();
        assertThat(exp.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(exp.executor()).isEqualTo("box");
        assertThat(exp.handle().host()).contains("127.0.0.1:" + sshd.port);
        try (Ledger l = ledger()) {
            assertThat(l.latestMetrics(exp.id())).containsEntry("loss", 0.3333);
            assertThat(l.series(exp.id(), "loss")).hasSize(3);
            assertThat(l.artifacts(exp.id())).anySatisfy(a -> {
                assertThat(a.kind()).isEqualTo(ArtifactKind.ARTIFACT);
                assertThat(a.path()).isEqualTo("model.bin");
            });
        }
        // the artifact is in the local store: pull writes it out
        assertThat(project.sortie("pull", exp.name(), "model.bin").code()).isZero();
        assertThat(project.read("model.bin")).isEqualTo("weights");
        // the local log is the remote log, byte for byte
        Path local = project.dir.resolve(".sortie/runs/" + exp.id() + "/logs/attempt-1.log");
        Path onHost = remote.resolve("runs/" + exp.id() + "/logs/attempt-1.log");
        assertThat(Files.readAllBytes(local)).isEqualTo(Files.readAllBytes(onHost));
        // the work copy on the host is gone once its outputs are saved; the code cache stays for the next run
        assertThat(remote.resolve("runs/" + exp.id() + "/work")).doesNotExist();
        try (Stream<Path> cached = Files.list(remote.resolve("cache/code"))) {
            assertThat(cached.count()).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void theAgentAndCodeAreSentOnceAndAgainWhenTheHostLostThem() throws Exception {
        assertThat(project.sortie("run", "-e", "box", "--", "true").code()).isZero();
        Path agent = remote.resolve("agent");
        long jars;
        try (Stream<Path> s = Files.list(agent)) {
            jars = s.filter(p -> p.toString().endsWith(".jar")).count();
        }
        assertThat(jars).isGreaterThanOrEqualTo(5);
        // this machine remembers the install: a second run does not send the jars again (same files, same inodes)
        Path aJar;
        try (Stream<Path> s = Files.list(agent)) {
            aJar = s.filter(p -> p.toString().endsWith(".jar")).findFirst().orElseThrow();
        }
        Object inode = Files.getAttribute(aJar, "unix:ino");
        assertThat(project.sortie("run", "-e", "box", "--", "true").code()).isZero();
        assertThat(Files.getAttribute(aJar, "unix:ino")).isEqualTo(inode);
        // someone cleans the host up: the next run finds the agent and the code gone and sends them again
        dev.sortie.core.util.FileTrees.delete(agent);
        dev.sortie.core.util.FileTrees.delete(remote.resolve("cache"));
        TestProject.Result r = project.sortie("run", "-e", "box", "--", "echo", "back");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("back");
        try (Stream<Path> s = Files.list(agent)) {
            assertThat(s.filter(p -> p.toString().endsWith(".jar")).count()).isEqualTo(jars);
        }
    }

    @Test
    void thePythonSdkReportsFromInsideARemoteRun() throws Exception {
        project.write("sdk_train.py", """
                import sortie
                with sortie.start() as run:
                    for step in range(5):
                        run.log(acc=step / 10, step=step)
                    open("report.txt", "w").write("made on the host")
                    run.log_artifact("report.txt")
                """).commit();
        TestProject.Result r = project.sortie("run", "-e", "box", "-n", "sdk", "--", "env", "PYTHONPATH=" + PythonSdkTest.SDK,
                "python3", "sdk_train.py");
        assertThat(r.code()).as(r.err()).isZero();
        Experiment exp = only();
        try (Ledger l = ledger()) {
            assertThat(l.series(exp.id(), "acc")).hasSize(5);
            assertThat(l.latestMetrics(exp.id())).containsEntry("acc", 0.4);
            assertThat(l.artifacts(exp.id())).anySatisfy(a -> assertThat(a.path()).endsWith("report.txt"));
        }
        assertThat(project.sortie("pull", "sdk", "report.txt").code()).isZero();
        assertThat(project.read("report.txt")).isEqualTo("made on the host");
    }

    @Test
    void hostileParamsPassThroughLiterally() throws Exception {
        Path canary = tmp.resolve("pwned");
        String hostile = "a \"b\" 'c' $(touch " + canary + ") `touch " + canary + "` ; touch " + canary + " \n next line";
        TestProject.Result r = project.sortie("run", "-e", "box", "-S", "+msg=" + hostile, "--", "printf", "%s|", "${msg}");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains(hostile.replace("\n", "\n").split("\n")[0]);
        assertThat(canary).doesNotExist();
        TestProject.Result shell = project.sortie("run", "-e", "box", "-S", "+msg=" + hostile, "--", "sh", "-c", "echo \"${msg}\"");
        assertThat(shell.code()).as(shell.err()).isZero();
        assertThat(canary).doesNotExist();
    }

    /** What the program saw, as hex of its bytes, and the locale variables of its environment (the host session's). */
    static final String SHOW_BYTES = """
            import os, sys
            print("argv=" + os.fsencode(sys.argv[1]).hex(), "env=" + os.environb[b"SORTIE_PARAM_NAME"].hex(),
                  "lang=" + str(os.environb.get(b"LANG")), "lc_all=" + str(os.environb.get(b"LC_ALL")))
            for name in sorted(os.listdir(b".")):
                if name.startswith(b"d"):
                    print("file=" + name.hex(), "holds=" + open(name, "rb").read().hex())
            """;

    static String hex(String s) {
        return java.util.HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void nonAsciiParamsReachTheProgramByteForByteOnAHostWithoutALocale() throws Exception {
        project.write("show.py", SHOW_BYTES).commit();
        TestProject.Result r = project.sortie("run", "-e", "box", "-S", "+name=dätä☃", "--", "python3", "show.py", "${name}");
        assertThat(r.code()).as(r.err()).isZero();
        // the host's session has no locale (sshd without PAM sets none): what made the agent's JVM ASCII
        assertThat(r.out()).contains("lang=None lc_all=None");
        assertThat(r.out()).contains("argv=" + hex("dätä☃") + " env=" + hex("dätä☃"));
    }

    @Test
    void aCommittedFileWithANonAsciiNameIsSyncedAndReadOnAHostWithoutALocale() throws Exception {
        project.write("show.py", SHOW_BYTES).write("dätä ☃.txt", "snow ☃\n").commit();
        TestProject.Result r = project.sortie("run", "-e", "box", "-S", "+name=x", "--", "python3", "show.py", "${name}");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("lang=None lc_all=None");
        assertThat(r.out()).contains("file=" + hex("dätä ☃.txt") + " holds=" + hex("snow ☃\n"));
    }

    @Test
    void theAgentStartsFromAClassArchiveMadeOnTheHostAfterItsFirstRuns() throws Exception {
        for (int i = 0; i < 3; i++) {
            TestProject.Result r = project.sortie("run", "-e", "box", "--", "true");
            assertThat(r.code()).as(r.err()).isZero();
        }
        Path cds = remote.resolve("agent/cds");
        RunLifecycleTest.waitUntil("the agent's class archive", Duration.ofSeconds(60), () -> {
            try (Stream<Path> s = Files.list(cds)) {
                return s.anyMatch(p -> p.getFileName().toString().endsWith(".jsa"));
            } catch (java.io.IOException e) {
                return false;
            }
        });
        // the command's parent is the agent's JVM: its memory maps show the archive in use
        TestProject.Result r = project.sortie("run", "-e", "box", "--", "sh", "-c", "grep -F .jsa /proc/$PPID/maps | head -1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains(cds.toString());
    }

    @Test
    void aCommandMissingOnTheHostFailsClearly() {
        TestProject.Result r = project.sortie("run", "-e", "box", "--", "no-such-program-xyz", "--flag");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no-such-program-xyz").contains("not found");
    }

    @Test
    void aDetachedRunGoesOnAndIsFollowedAgainWithLogsF() throws Exception {
        TestProject.Result r = project.sortie("run", "-e", "box", "--detach", "-S", "steps=6", "-S", "pause=0.4");
        assertThat(r.code()).as(r.err()).isZero();
        Experiment exp = only();
        assertThat(exp.status()).isEqualTo(ExperimentStatus.RUNNING);
        TestProject.Result logs = project.sortie("logs", "-f", exp.name());
        assertThat(logs.out()).contains("loss=1.0000 step=0").contains("loss=0.1667 step=5");
        Experiment done = only();
        assertThat(done.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        try (Ledger l = ledger()) {
            assertThat(l.series(done.id(), "loss")).hasSize(6);
        }
    }

    @Test
    void signalsDetachAForegroundRemoteRunAndEndALogsFollowWithExitZero() throws Exception {
        // A detached run is not a failure: Ctrl-C detached with exit 0, SIGTERM exited 1; following a run with
        // logs -f is not the run: a signal ends the follow (it exited 130/143/129) and the run goes on.
        for (String signal : List.of("INT", "TERM", "HUP")) {
            Path out = tmp.resolve("run-" + signal + ".out");
            Process p = project.spawn(out, "run", "-n", "r" + signal.toLowerCase(), "-e", "box", "-S", "steps=200", "-S", "pause=0.2");
            RunLifecycleTest.waitForText(out, "step=1", Duration.ofSeconds(60));
            assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor()).isZero();
            assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            String printed = Files.readString(out);
            assertThat(p.exitValue()).as(signal + ": " + printed).isZero();
            assertThat(printed).contains("goes on on box");

            Path followed = tmp.resolve("logs-" + signal + ".out");
            Process logs = project.spawn(followed, "logs", "-f", "r" + signal.toLowerCase());
            RunLifecycleTest.waitForText(followed, "step=", Duration.ofSeconds(60));
            assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(logs.pid())).start().waitFor()).isZero();
            assertThat(logs.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            String said = Files.readString(followed);
            assertThat(logs.exitValue()).as(signal + ": " + said).isZero();
            assertThat(said).contains("stopped following");
            try (Ledger l = ledger()) {
                assertThat(l.find("r" + signal.toLowerCase()).orElseThrow().status()).isEqualTo(ExperimentStatus.RUNNING);
            }
            assertThat(project.sortie("stop", "r" + signal.toLowerCase()).code()).isZero();
        }
        // a worker stopped by SIGTERM says what goes on where, not only "0 succeeded, 0 failed"
        assertThat(project.sortie("run", "--queue", "-n", "q", "-e", "box", "-S", "steps=200", "-S", "pause=0.2").code()).isZero();
        Path out = tmp.resolve("worker.out");
        Process worker = project.spawn(out, "queue", "start", "-e", "box");
        RunLifecycleTest.waitUntil("the queued run started on the host", Duration.ofSeconds(60), () -> {
            try (Ledger l = ledger()) {
                return l.find("q").orElseThrow().commandStarted();
            }
        });
        assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(worker.pid())).start().waitFor()).isZero();
        assertThat(worker.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(out)).contains("1 run goes on on box");
        assertThat(project.sortie("stop", "q").code()).isZero();
    }

    @Test
    void aSortieFolderRemovedDuringARemoteRunIsNotMadeAgainNorItsOutputPrintedTwice() throws Exception {
        Path out = tmp.resolve("gone.out");
        Process p = project.spawn(out, "run", "-n", "gone", "-e", "box", "--", "sh", "-c",
                "echo start; for i in 1 2 3 4 5; do echo loss=$i; sleep 1; done");
        RunLifecycleTest.waitForText(out, "loss=1", Duration.ofSeconds(60));
        Process rm = new ProcessBuilder("rm", "-rf", project.dir.resolve(".sortie").toString()).inheritIO().start();
        assertThat(rm.waitFor()).isZero();
        assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        String printed = Files.readString(out);
        assertThat(p.exitValue()).as(printed).isEqualTo(3);
        // the output was read from where it was, not from the start again (its local copy is gone)
        assertThat(printed.split("\nstart\n", -1)).as(printed).hasSize(2);
        assertThat(printed.split("loss=1\n", -1)).as(printed).hasSize(2);
        assertThat(printed).contains("loss=5").contains("was removed").contains("could not be recorded");
        assertThat(printed.split("is no longer kept", -1)).as("said once: " + printed).hasSize(2);
        assertThat(project.dir.resolve(".sortie")).as("nothing made again").doesNotExist();
    }

    @Test
    void aKilledHostShellCostsNothing() throws Exception {
        Path out = tmp.resolve("run.out");
        Process p = project.spawn(out, "run", "-e", "box", "-S", "steps=10", "-S", "pause=0.3");
        RunLifecycleTest.waitForText(out, "step=1", Duration.ofSeconds(60));
        // the shell that answers this sortie's looks dies on the host (twice: then looks are commands of their own)
        // Only this test's host: its sshd's sessions, never another test run's shells or another user's.
        for (int i = 0; i < 2; i++) {
            List<ProcessHandle> shells = sshd.processesRunning("sortie-shell");
            shells.forEach(ProcessHandle::destroyForcibly);
            if (i == 0) {
                assertThat(shells).as("a host shell answered the looks").isNotEmpty();
                // the next look starts a shell again (unless the run ended first): that one dies too
                RunLifecycleTest.waitUntil("a new host shell", Duration.ofSeconds(30), () ->
                        sshd.processesRunning("sortie-shell").stream().anyMatch(h -> !shells.contains(h)) || !p.isAlive());
            }
        }
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(out)).isZero();
        Experiment done = only();
        assertThat(done.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        try (Ledger l = ledger()) {
            assertThat(l.series(done.id(), "loss")).hasSize(10);
        }
        String log = Files.readString(project.dir.resolve(".sortie/runs/" + done.id() + "/logs/attempt-1.log"), StandardCharsets.UTF_8);
        for (int i = 0; i < 10; i++) {
            assertThat(log).contains("step=" + i + "\n");
        }
    }

    @Test
    void theRunSurvivesAKilledSortieAndIsCollectedByTheNextStatus() throws Exception {
        Path out = tmp.resolve("run.out");
        Process p = project.spawn(out, "run", "-e", "box", "-S", "steps=8", "-S", "pause=0.5");
        RunLifecycleTest.waitForText(out, "step=1", Duration.ofSeconds(60));
        p.destroyForcibly().waitFor();
        Experiment exp = only();
        assertThat(exp.status()).isEqualTo(ExperimentStatus.RUNNING);
        RunLifecycleTest.waitUntil("the run to end on the host", Duration.ofSeconds(60), () -> {
            project.sortie("status");
            return only().status().isTerminal();
        });
        Experiment done = only();
        assertThat(done.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        try (Ledger l = ledger()) {
            assertThat(l.series(done.id(), "loss")).hasSize(8);
            assertThat(l.artifacts(done.id())).anySatisfy(a -> assertThat(a.path()).isEqualTo("model.bin"));
        }
        String log = Files.readString(project.dir.resolve(".sortie/runs/" + done.id() + "/logs/attempt-1.log"), StandardCharsets.UTF_8);
        assertThat(log).contains("step=0").contains("step=7");
    }

    @Test
    void stopStopsTheRemoteProcessGroupAndCollectsItsOutputs() throws Exception {
        assertThat(project.sortie("run", "-e", "box", "--detach", "-S", "steps=100", "-S", "pause=0.3").code()).isZero();
        Experiment exp = only();
        RunLifecycleTest.waitUntil("the first checkpoint", Duration.ofSeconds(60), () -> {
            project.sortie("status");
            try (Ledger l = ledger()) {
                return !l.series(exp.id(), "loss").isEmpty();
            }
        });
        TestProject.Result stop = project.sortie("stop", exp.name());
        assertThat(stop.code()).as(stop.err()).isZero();
        Experiment stopped = only();
        assertThat(stopped.status()).isEqualTo(ExperimentStatus.STOPPED);
        RunLifecycleTest.waitUntil("the command to be gone", Duration.ofSeconds(30), () -> !pythonRunning(exp.id()));
        try (Ledger l = ledger()) {
            assertThat(l.artifacts(exp.id())).anySatisfy(a -> assertThat(a.kind()).isEqualTo(ArtifactKind.CHECKPOINT));
        }
    }

    @Test
    void anAgentKilledOnTheHostLeavesAnInterruptedRunWithItsCheckpoints() throws Exception {
        assertThat(project.sortie("run", "-e", "box", "--detach", "-S", "steps=100", "-S", "pause=0.3").code()).isZero();
        Experiment exp = only();
        RunLifecycleTest.waitUntil("a few steps", Duration.ofSeconds(60), () -> {
            project.sortie("status");
            try (Ledger l = ledger()) {
                return l.series(exp.id(), "loss").size() >= 3;
            }
        });
        new ProcessBuilder("pkill", "-9", "-f", "AgentMain run " + remote).start().waitFor();
        RunLifecycleTest.waitUntil("the run to be found interrupted", Duration.ofSeconds(60), () -> {
            project.sortie("status");
            return only().status().isTerminal();
        });
        Experiment done = only();
        assertThat(done.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
        assertThat(done.error()).contains("agent");
        RunLifecycleTest.waitUntil("the command to be gone", Duration.ofSeconds(30), () -> !pythonRunning(exp.id()));
        try (Ledger l = ledger()) {
            assertThat(l.artifacts(exp.id())).anySatisfy(a -> assertThat(a.kind()).isEqualTo(ArtifactKind.CHECKPOINT));
        }
        // and a retry resumes it from its checkpoint, on the host
        TestProject.Result again = project.sortie("retry", done.name());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).contains("resumed at");
        assertThat(only().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
    }

    @Test
    void aHostThatDiesMidRunIsDeclaredLostAndTheRunResumesWhenItIsBack() throws Exception {
        SshdFixture dying = hosts.add();
        try {
            project.write(".sortie/config.yaml", project.read(".sortie/config.yaml")
                    + SshHosts.executor("dying", dying, dying.hostDir(), "lost_after: 3s", "keepalive: 1s", "connect_timeout: 2s"));
            Path out = tmp.resolve("run.out");
            Process p = project.spawn(out, "run", "-e", "dying", "-S", "steps=12", "-S", "pause=0.5");
            RunLifecycleTest.waitForText(out, "step=2", Duration.ofSeconds(60));
            // a checkpoint and three metric points are collected before the host dies (the points come through the
            // agent's journal, which may lag the live output by a batch: the output's step=2 alone does not say they did)
            RunLifecycleTest.waitUntil("a checkpoint and 3 points collected", Duration.ofSeconds(60), () -> {
                try (Ledger l = ledger()) {
                    return l.artifacts(only().id()).stream().anyMatch(a -> a.kind() == ArtifactKind.CHECKPOINT)
                            && l.series(only().id(), "loss").size() >= 3;
                }
            });
            dying.kill();
            assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("sortie run gives up on the lost host").isTrue();
            String printed = Files.readString(out);
            assertThat(p.exitValue()).as(printed).isEqualTo(1);
            assertThat(printed).contains("cannot reach").contains("lost");
            Experiment lost = only();
            assertThat(lost.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
            assertThat(lost.error()).contains("lost");
            try (Ledger l = ledger()) {
                assertThat(l.series(lost.id(), "loss").size()).isGreaterThanOrEqualTo(3);
                assertThat(l.artifacts(lost.id())).anySatisfy(a -> assertThat(a.kind()).isEqualTo(ArtifactKind.CHECKPOINT));
            }
            // the host comes back: a retry resumes from the checkpoint collected before it died
            dying.restart();
            TestProject.Result again = project.sortie("retry", lost.name());
            assertThat(again.code()).as(again.err()).isZero();
            assertThat(again.out()).contains("resumed at");
            assertThat(only().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        } finally {
            if (!dying.isRunning()) {
                dying.restart(); // closed with the others at the end
            }
        }
    }

    @Test
    void aQueueOnAHostThatIsDownWaitsForItInsteadOfFailingItsExperiments() throws Exception {
        SshdFixture down = hosts.add();
        try {
            project.write(".sortie/config.yaml", project.read(".sortie/config.yaml")
                    + SshHosts.executor("down", down, down.hostDir(), "connect_timeout: 2s"));
            down.kill();
            // a foreground run cannot start: an infrastructure error (exit 3), nothing ran
            TestProject.Result now = project.sortie("run", "-n", "never", "-e", "down", "--", "true");
            assertThat(now.code()).as(now.err()).isEqualTo(3);
            assertThat(now.err()).contains("not started").contains("cannot connect");
            // recorded failed, as the README's exit codes say: a run that never started was not interrupted
            try (Ledger l = ledger()) {
                Experiment never = l.find("never").orElseThrow();
                assertThat(never.status()).isEqualTo(ExperimentStatus.FAILED);
                assertThat(never.error()).contains("host unavailable").contains("cannot connect");
            }
            assertThat(project.sortie("run", "--queue", "-S", "steps=2,3").code()).isZero();
            Path out = tmp.resolve("worker.out");
            Process worker = project.spawn(out, "queue", "start", "-e", "down", "-j", "1");
            try {
                RunLifecycleTest.waitForText(out, "executor down cannot start runs now", Duration.ofSeconds(60));
                down.restart();
                assertThat(worker.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).as("the worker drains the queue").isTrue();
            } finally {
                worker.destroyForcibly().waitFor();
            }
            assertThat(worker.exitValue()).as(Files.readString(out)).isZero();
            try (Ledger l = ledger()) {
                List<Experiment> queued = l.list().stream().filter(e -> !e.name().equals(l.list().get(0).name())).toList();
                assertThat(queued).hasSize(2).allSatisfy(e -> {
                    assertThat(e.status()).as(e.name() + ": " + e.error()).isEqualTo(ExperimentStatus.SUCCEEDED);
                    assertThat(e.attempt()).as("waiting for the host used no attempt").isEqualTo(1);
                });
            }
        } finally {
            if (!down.isRunning()) {
                down.restart();
            }
        }
    }

    /** A host of its own for a test that takes it down: sshd killed (and brought back), lost_after short. */
    SshdFixture hostToTakeDown(String name, String... extra) throws Exception {
        SshdFixture h = hosts.add();
        List<String> settings = new java.util.ArrayList<>(List.of("keepalive: 1s", "connect_timeout: 2s"));
        settings.addAll(List.of(extra));
        project.write(".sortie/config.yaml", project.read(".sortie/config.yaml")
                + SshHosts.executor(name, h, h.hostDir(), settings.toArray(new String[0])));
        return h;
    }

    /** Waits until the experiment's first metrics were collected, so its run is going on the host. */
    void waitForMetrics(Experiment exp, int points) throws InterruptedException {
        RunLifecycleTest.waitUntil(points + " metric points", Duration.ofSeconds(60), () -> {
            project.sortie("status");
            try (Ledger l = ledger()) {
                return l.series(exp.id(), "loss").size() >= points;
            }
        });
    }

    @Test
    void aStopWhileTheHostIsDownIsDeliveredWhenItAnswersAndTheRunIsCollected() throws Exception {
        SshdFixture h = hostToTakeDown("flaky", "lost_after: 10m");
        try {
            assertThat(project.sortie("run", "-e", "flaky", "--detach", "-S", "steps=400", "-S", "pause=0.2").code()).isZero();
            Experiment exp = only();
            waitForMetrics(exp, 3);
            h.killSshdOnly(); // the agent and its run go on, nobody can reach them
            TestProject.Result stop = project.sortie("stop", exp.name());
            assertThat(stop.code()).as(stop.err()).isEqualTo(3);
            assertThat(stop.err()).contains("cannot be reached").contains("will be delivered when it answers");
            Experiment pending = only();
            assertThat(pending.status()).as("not stopped: the stop did not reach the host").isEqualTo(ExperimentStatus.RUNNING);
            assertThat(pending.error()).startsWith("stop requested");
            assertThat(project.sortie("status").out()).contains("stop pending");
            assertThat(pythonRunning(exp.id())).as("the run goes on on the host").isTrue();
            h.resume();
            RunLifecycleTest.waitUntil("the stop delivered and the run's end collected", Duration.ofSeconds(60), () -> {
                project.sortie("status");
                return only().status().isTerminal();
            });
            Experiment done = only();
            assertThat(done.status()).as(done.error()).isEqualTo(ExperimentStatus.STOPPED);
            assertThat(done.error()).isEqualTo("stopped by user");
            RunLifecycleTest.waitUntil("the command to be gone", Duration.ofSeconds(30), () -> !pythonRunning(exp.id()));
            String log = Files.readString(project.dir.resolve(".sortie/runs/" + done.id() + "/logs/attempt-1.log"), StandardCharsets.UTF_8);
            try (Ledger l = ledger()) {
                int points = l.series(done.id(), "loss").size();
                assertThat(points).isGreaterThan(3);
                // every step the run printed was collected, the ones while the host was away included
                assertThat(log.lines().filter(x -> x.startsWith("loss=")).count()).isEqualTo(points);
                assertThat(l.artifacts(done.id())).anySatisfy(a -> assertThat(a.kind()).isEqualTo(ArtifactKind.CHECKPOINT));
            }
        } finally {
            if (!h.isRunning()) {
                h.restart();
            }
        }
    }

    @Test
    void aStopWhileTheHostIsDownKeepsTheRealEndOfARunThatFinishedMeanwhile() throws Exception {
        SshdFixture h = hostToTakeDown("flaky", "lost_after: 10m");
        try {
            assertThat(project.sortie("run", "-e", "flaky", "--detach", "-S", "steps=30", "-S", "pause=0.2").code()).isZero();
            Experiment exp = only();
            waitForMetrics(exp, 2);
            h.killSshdOnly();
            TestProject.Result stop = project.sortie("stop", exp.name());
            assertThat(stop.code()).as(stop.err()).isEqualTo(3);
            assertThat(only().status()).isEqualTo(ExperimentStatus.RUNNING);
            // the run finishes on the host while nobody can reach it
            RunLifecycleTest.waitUntil("the run to finish on the host", Duration.ofSeconds(60), () -> !pythonRunning(exp.id()));
            h.resume();
            TestProject.Result status = project.sortie("status");
            assertThat(status.code()).as(status.err()).isZero();
            Experiment done = only();
            assertThat(done.status()).as(done.error()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(done.exitCode()).isZero();
            String log = Files.readString(project.dir.resolve(".sortie/runs/" + done.id() + "/logs/attempt-1.log"), StandardCharsets.UTF_8);
            for (int i = 0; i < 30; i++) {
                assertThat(log).contains("step=" + i + "\n");
            }
            try (Ledger l = ledger()) {
                assertThat(l.series(done.id(), "loss")).hasSize(30);
                assertThat(l.artifacts(done.id())).anySatisfy(a -> assertThat(a.path()).isEqualTo("model.bin"));
            }
        } finally {
            if (!h.isRunning()) {
                h.restart();
            }
        }
    }

    @Test
    void aPendingStopOfARunAQueueWorkerFollowsEndsItStoppedWhenItsHostIsLostNotRequeued() throws Exception {
        // The worker that launched the run records its end itself: it used to overwrite the pending stop with
        // "host lost", and re-queue the experiment the user had asked to stop.
        SshdFixture h = hostToTakeDown("lossy", "lost_after: 4s");
        Path out = tmp.resolve("worker.out");
        Process worker = null;
        try {
            assertThat(project.sortie("run", "--queue", "-e", "lossy", "-S", "steps=400", "-S", "pause=0.2").code()).isZero();
            worker = project.spawn(out, "queue", "start", "-e", "lossy");
            RunLifecycleTest.waitUntil("the run going", Duration.ofSeconds(60), () -> {
                try (Ledger l = ledger()) {
                    return !l.list().isEmpty() && l.series(l.list().get(0).id(), "loss").size() >= 2;
                }
            });
            h.kill();
            Experiment exp = only();
            TestProject.Result stop = project.sortie("stop", exp.name());
            assertThat(stop.code()).as(stop.err()).isEqualTo(3);
            assertThat(only().error()).startsWith("stop requested");
            assertThat(worker.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)).as("the worker ends: nothing left queued").isTrue();
            Experiment done = only();
            assertThat(done.status()).as(done.error() + "\n" + Files.readString(out)).isEqualTo(ExperimentStatus.STOPPED);
            assertThat(done.attempt()).as("not re-queued").isEqualTo(1);
            assertThat(done.error()).startsWith("stopped by user").contains("lost");
        } finally {
            if (worker != null) {
                worker.destroyForcibly().waitFor();
            }
            if (!h.isRunning()) {
                h.restart();
            }
        }
    }

    @Test
    void statusAndLogsFSayAHostIsDownAndDeclareItsRunLostAfterLostAfter() throws Exception {
        SshdFixture h = hostToTakeDown("dying", "lost_after: 4s");
        try {
            assertThat(project.sortie("run", "-e", "dying", "--detach", "-S", "steps=400", "-S", "pause=0.2").code()).isZero();
            Experiment exp = only();
            waitForMetrics(exp, 3);
            h.kill(); // sshd and everything it started: the host is gone
            Path out = tmp.resolve("logs.out");
            Process logs = project.spawn(out, "logs", "-f", exp.name());
            try {
                RunLifecycleTest.waitForText(out, "[sortie] waiting for dying", Duration.ofSeconds(30));
                RunLifecycleTest.waitUntil("status to say the host cannot be reached", Duration.ofSeconds(30), () -> {
                    long t0 = System.nanoTime();
                    TestProject.Result status = project.sortie("status");
                    Duration took = Duration.ofNanos(System.nanoTime() - t0);
                    assertThat(took).as("status answers within about one connect timeout").isLessThan(Duration.ofSeconds(8));
                    // (logs -f may be collecting at that moment: then this status leaves the run to it)
                    return status.err().contains("dying") && status.err().contains("cannot be reached since")
                            && status.out().contains("unreachable") && only().status() == ExperimentStatus.RUNNING;
                });
                RunLifecycleTest.waitUntil("the run declared lost", Duration.ofSeconds(60), () -> {
                    project.sortie("status");
                    return only().status().isTerminal();
                });
                Experiment lost = only();
                assertThat(lost.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
                assertThat(lost.error()).contains("lost");
                assertThat(logs.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as("logs -f ends when the run is lost").isTrue();
                String printed = Files.readString(out);
                assertThat(logs.exitValue()).as("the followed run was lost: exit 1, as 'sortie run' says: " + printed).isEqualTo(1);
                assertThat(printed.split("waiting for dying", -1)).as("said once: " + printed).hasSize(2);
                assertThat(printed).contains("interrupted");
            } finally {
                logs.destroyForcibly().waitFor();
            }
        } finally {
            if (!h.isRunning()) {
                h.restart();
            }
        }
    }

    /** Whether a process of the experiment still runs (its environment names it). */
    static boolean pythonRunning(String experimentId) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("\\d+")).anyMatch(p -> {
                try {
                    return new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.UTF_8)
                            .contains("SORTIE_EXPERIMENT_ID=" + experimentId);
                } catch (Exception e) {
                    return false;
                }
            });
        } catch (Exception e) {
            return false;
        }
    }

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }
}
