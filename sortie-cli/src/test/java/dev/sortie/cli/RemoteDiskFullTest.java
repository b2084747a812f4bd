package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host whose disk is full: its remote folder is a real file system of 24 MB (a tmpfs in the host's own mount
 * namespace), so every write past that fails with ENOSPC, as on a full disk.
 */
@Tag("integration")
class RemoteDiskFullTest {
    @SshHost(disk = "24m")
    static SshdFixture host;

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("small", host, host.hostDir().resolve("sortie")));
    }

    Experiment experiment(String name) {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.find(name).orElseThrow();
        }
    }

    static byte[] random(int bytes) {
        byte[] b = new byte[bytes];
        new Random(bytes).nextBytes(b);
        return b;
    }

    @Test
    void codeThatDoesNotFitIsAClearInfrastructureErrorAndTheHostWorksOnceItFits() throws Exception {
        project.write("train.py", "print('trained', flush=True)\n");
        Files.createDirectories(project.dir.resolve("data"));
        Files.write(project.dir.resolve("data/big.bin"), random(30 << 20));
        project.commit();

        TestProject.Result r = project.sortie("run", "-n", "toobig", "-e", "small", "--", "python3", "train.py");
        // not the experiment's failure: the infrastructure's (exit code 3), with what would fix it
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err()).contains("could not start: no space left on").contains("30.0 MiB")
                .contains("free").contains("'remote_dir:'").doesNotContain("tar:");
        assertThat(experiment("toobig").status()).isEqualTo(ExperimentStatus.FAILED);

        Files.delete(project.dir.resolve("data/big.bin"));
        project.write("data/small.bin", "x").commit();
        TestProject.Result ok = project.sortie("run", "-n", "fits", "-e", "small", "--", "python3", "train.py");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("trained");
    }

    @Test
    void aRunThatFillsTheDiskFailsWithItsOwnErrorAndItsLogIsKept() throws Exception {
        project.write("fill.py", """
                        import sys
                        print('writing', flush=True)
                        try:
                            with open('filler.bin', 'wb') as f:
                                while True:
                                    f.write(b'x' * (1 << 20))
                        except OSError as e:
                            print('failed:', e.strerror, file=sys.stderr, flush=True)
                            sys.exit(7)
                        """).commit();
        TestProject.Result r = project.sortie("run", "-n", "filler", "-e", "small", "--", "python3", "fill.py");
        assertThat(r.code()).isEqualTo(1);
        Experiment e = experiment("filler");
        assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(e.exitCode()).isEqualTo(7);
        assertThat(project.sortie("logs", "filler").out()).contains("writing").contains("No space left on device");

        // the filled work folder is not kept for reuse on a disk that short of space: the next run fits
        project.write("train.py", "print('trained', flush=True)\n").commit();
        TestProject.Result next = project.sortie("run", "-n", "after", "-e", "small", "--", "python3", "train.py");
        assertThat(next.code()).as(next.err()).isZero();
    }

    /** Runs {@code script} in a session of the host (its own mount namespace: the small disk is seen there only). */
    String onHost(String script) throws Exception {
        Process p = new ProcessBuilder("ssh", "-n", "-T", "-i", host.clientKey.toString(), "-p", Integer.toString(host.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                host.user + "@127.0.0.1", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out.strip();
    }

    @Test
    void aSmallDiskGetsNoClassDataArchiveOfTheAgent() throws Exception {
        // the archive (tens of MB, made in the background after the first runs) once filled this 24 MB disk under a
        // later run, whose log then found 1 MB free: on a small disk the agent's start-up cache is never begun
        project.write("hello.py", "print('hello', flush=True)\n").commit();
        for (int i = 1; i <= 2; i++) {
            TestProject.Result r = project.sortie("run", "-n", "hello-" + i, "-e", "small", "--", "python3", "hello.py");
            assertThat(r.code()).as(r.err()).isZero();
        }
        assertThat(onHost("find " + host.hostDir().resolve("sortie/agent") + " -name '*.jsa*'")).as("class lists and archives").isEmpty();
    }

    Path hostRunDir(Experiment e) {
        return host.hostDir().resolve("sortie/runs/" + e.id());
    }

    /** Frees what a run left on the host's disk (its log fills it), so the next run has room. */
    void freeHostDisk(Experiment e) throws Exception {
        onHost("rm -rf " + hostRunDir(e) + " " + host.hostDir().resolve("sortie/spare"));
    }

    @Test
    void aRunWhoseOutputFillsTheHostsDiskFailsWithItsOwnExitCodeSayingTheDiskWasFull() throws Exception {
        // its output goes straight into its log on the host's 24 MiB disk: the program's own write fails (ENOSPC)
        project.write("shout.py", """
                import sys
                print('shouting', flush=True)
                for i in range(40):
                    sys.stdout.write('x' * (1 << 20))
                    sys.stdout.flush()
                """).commit();
        TestProject.Result r = project.sortie("run", "-n", "shout", "-e", "small", "--", "python3", "shout.py");
        Experiment e = experiment("shout");
        try {
            assertThat(r.code()).as(r.err()).isEqualTo(1); // the program's failure, not the agent's
            assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
            assertThat(e.exitCode()).isEqualTo(1);
            assertThat(e.error()).startsWith("exited with code 1")
                    .contains("the disk of remote_dir " + host.hostDir().resolve("sortie") + " on ")
                    .contains("free of").contains("'remote_dir:'");
            assertThat(r.err()).contains("the disk of remote_dir");
            // the log up to the point the disk filled: collected whole, and the live output was the same bytes
            long kept = Long.parseLong(onHost("stat -c %s " + hostRunDir(e).resolve("logs/attempt-1.log")));
            assertThat(kept).isGreaterThan(16L << 20);
            String logs = project.sortie("logs", "shout").out();
            assertThat(logs).startsWith("shouting\n");
            assertThat(Files.size(project.dir.resolve(".sortie/runs/" + e.id() + "/logs/attempt-1.log"))).isEqualTo(kept);
            assertThat(r.out()).isEqualTo(logs);
        } finally {
            freeHostDisk(e);
        }
        // space freed: the next run on the host works
        project.write("train.py", "print('trained', flush=True)\n").commit();
        TestProject.Result next = project.sortie("run", "-n", "after-shout", "-e", "small", "--", "python3", "train.py");
        assertThat(next.code()).as(next.err()).isZero();
        assertThat(next.out()).contains("trained");
    }

    @Test
    void aRunThatLosesOutputToAFullHostDiskButSucceedsIsToldItsLogIsCutShort() throws Exception {
        // Python's one 30 MB write is cut short by the full disk and the program exits 0 all the same
        project.write("quiet.py", "import sys\nsys.stdout.write('x' * (30 << 20))\n").commit();
        TestProject.Result r = project.sortie("run", "-n", "quiet", "-e", "small", "--", "python3", "quiet.py");
        Experiment e = experiment("quiet");
        try {
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            String logs = project.sortie("logs", "quiet").out();
            assertThat(logs).contains("[sortie] the disk of remote_dir " + host.hostDir().resolve("sortie")).contains("cut short");
            long kept = Long.parseLong(onHost("stat -c %s " + hostRunDir(e).resolve("logs/attempt-1.log")));
            assertThat(Files.size(project.dir.resolve(".sortie/runs/" + e.id() + "/logs/attempt-1.log"))).isEqualTo(kept);
            assertThat(r.out()).isEqualTo(logs);
        } finally {
            freeHostDisk(e);
        }
    }

    @Test
    void metricsTheAgentCouldNotRecordOnAFullHostDiskAreAnInfrastructureFailureSayingSo() throws Exception {
        // The disk is filled to 1 MiB short, then metric lines are printed until the disk is full: what the journal
        // needs for them (about seven times their bytes in the log) cannot be written, and the program ends well.
        project.write("metrics.py", """
                import os, sys
                try:
                    with open('filler.bin', 'wb') as f:
                        while True:
                            f.write(b'f' * (1 << 20))
                            f.flush()
                except OSError:
                    pass
                os.truncate('filler.bin', os.path.getsize('filler.bin') - (1 << 20))
                try:
                    for i in range(10 ** 7):
                        sys.stdout.write('loss=0.5\\n' * 100)
                        sys.stdout.flush()
                except OSError:
                    pass
                try:
                    sys.stdout.close()
                except OSError:
                    pass
                os._exit(0)
                """).commit();
        TestProject.Result r = project.sortie("run", "-n", "metrics", "-e", "small", "--", "python3", "metrics.py");
        Experiment e = experiment("metrics");
        try {
            assertThat(r.code()).as(r.err()).isEqualTo(3);
            assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
            assertThat(e.error()).contains("the command ran (exit code 0) but").contains("metric point(s) could not be recorded")
                    .contains("the disk of remote_dir " + host.hostDir().resolve("sortie") + " on ").contains("'remote_dir:'");
            assertThat(r.err()).contains("could not be recorded");
        } finally {
            freeHostDisk(e);
        }
        TestProject.Result next = project.sortie("run", "-n", "after-metrics", "-e", "small", "--", "python3", "-c", "print('loss=1')");
        assertThat(next.code()).as(next.err()).isZero();
    }
}
