package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.ledger.SqliteLedger;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node side of a run against what programs really do, through the real launcher ({@code ./sortie}, with
 * this test's class path as its distribution) in its own JVM: huge lines in a small heap, bytes that are not UTF-8, a
 * full disk, a {@code .sortie} removed mid-run.
 */
@Tag("integration")
class RunOutputLimitsTest {
    @TempDir
    static Path dist;
    /** The real launcher with this test's class path as its distribution (see {@link TestLauncher}). */
    static Path launcher;

    @org.junit.jupiter.api.BeforeAll
    static void layOutTheLauncher() throws Exception {
        launcher = TestLauncher.layOut(dist);
    }

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
    }

    record Run(int code, Path out, Path err) {
        String errText() throws Exception {
            return Files.readString(err);
        }
    }

    /** Runs {@code prefix... ./sortie -C proj ARGS} with {@code SORTIE_JAVA_OPTS=javaOpts}, stdout and stderr to files. */
    Run launch(String javaOpts, List<String> prefix, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(launcher.toString());
        cmd.add("-C");
        cmd.add(project.dir.toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        if (javaOpts != null) {
            pb.environment().put("SORTIE_JAVA_OPTS", javaOpts);
        }
        Process p = pb.start();
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("sortie " + String.join(" ", args) + " ends").isTrue();
        Run r = new Run(p.exitValue(), out, err);
        System.err.println("$ sortie " + String.join(" ", args) + " -> " + r.code() + "\n" + r.errText());
        return r;
    }

    Experiment experiment(String name) {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.find(name).orElseThrow();
        }
    }

    List<MetricPoint> series(String name, String key) {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.series(l.find(name).orElseThrow().id(), key);
        }
    }

    Path logOf(String name) {
        return project.dir.resolve(".sortie/runs").resolve(experiment(name).id()).resolve("logs/attempt-1.log");
    }

    static String sha(Path f) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(f)) {
            byte[] b = new byte[1 << 16];
            for (int n = in.read(b); n > 0; n = in.read(b)) {
                d.update(b, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    @Test
    void aHugeLineWithoutNewlineRunsAndIsShownInASmallHeap() throws Exception {
        // 300 MB on one line, in chunks, between metric lines: a run whose memory grew with the line needed GBs.
        project.write("big.py", "import sys\nout = sys.stdout.buffer\nout.write(b'loss=1 step=1\\n')\n"
                + "chunk = b'x' * (1 << 20)\nfor _ in range(300):\n    out.write(chunk)\n"
                + "out.write(b'\\nloss=0.5 step=2\\nacc=0.9 step=2\\n')\nout.flush()\n").commit();
        Run r = launch("-Xmx64m", List.of(), "run", "-n", "big", "--", "python3", "big.py");
        assertThat(r.code()).as(r.errText()).isZero();
        assertThat(r.errText()).doesNotContain("OutOfMemoryError");
        Path log = logOf("big");
        assertThat(Files.size(log)).isGreaterThanOrEqualTo(300L << 20);
        assertThat(Files.size(r.out())).as("the live output has every byte").isGreaterThanOrEqualTo(300L << 20);
        assertThat(series("big", "loss")).extracting(MetricPoint::value).containsExactly(1.0, 0.5);
        assertThat(series("big", "acc")).extracting(MetricPoint::value).containsExactly(0.9);
        assertThat(Files.readString(log).lines().filter(l -> l.startsWith("[sortie]")).toList())
                .anySatisfy(l -> assertThat(l).contains("longer than 64 KiB"));
        Files.delete(r.out());

        Run logs = launch("-Xmx64m", List.of(), "logs", "big");
        assertThat(logs.code()).as(logs.errText()).isZero();
        assertThat(sha(logs.out())).as("sortie logs prints the log as it is").isEqualTo(sha(log));
    }

    @Test
    void bytesThatAreNotUtf8AreShownAsWritten() throws Exception {
        project.write("bytes.py", "import sys\nout = sys.stdout.buffer\n"
                + "out.write(b'a\\xff\\xfeb\\nloss=1\\ncaf\\xc3')\nout.flush()\n").commit();
        Run r = launch(null, List.of(), "run", "-n", "bytes", "--", "python3", "bytes.py");
        assertThat(r.code()).as(r.errText()).isZero();
        Path log = logOf("bytes");
        byte[] expected = {'a', (byte) 0xff, (byte) 0xfe, 'b', '\n', 'l', 'o', 's', 's', '=', '1', '\n', 'c', 'a', 'f', (byte) 0xc3};
        assertThat(Files.readAllBytes(log)).isEqualTo(expected);
        assertThat(Files.readAllBytes(r.out())).as("the live output").isEqualTo(expected);
        Run logs = launch(null, List.of(), "logs", "bytes");
        assertThat(Files.readAllBytes(logs.out())).as("sortie logs").isEqualTo(expected);
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name")) || "1".equals(System.getenv("CI"));
    }

    @Test
    void metricsPrintedWhileTheDiskIsFullAreRecordedOnceThereIsSpaceAgain() throws Exception {
        assumeTrue(root(), "needs root to mount a small file system (set CI=1 to insist)");
        // .sortie on a real 16 MB file system: the run fills it, prints on, then frees what it took.
        project.write("fill.sh", "i=0\nwhile [ $i -lt 40 ]; do echo \"loss=$i step=$i\"; i=$((i+1)); sleep 0.02; done\n"
                + "head -c 20000000 /dev/zero > fill 2>/dev/null\n"
                + "while [ $i -lt 80 ]; do echo \"loss=$i step=$i\" 2>/dev/null; i=$((i+1)); sleep 0.02; done\n"
                + "rm -f fill\nsleep 2.5\n"
                + "while [ $i -lt 100 ]; do echo \"loss=$i step=$i\"; i=$((i+1)); sleep 0.02; done\n").commit();
        Files.createDirectories(project.dir.resolve(".sortie"));
        Run r = inSmallDisk("run", "-n", "fills", "--", "sh", "fill.sh");
        assertThat(r.code()).as(r.errText()).isZero();
        // Lines written while the disk was full are not in the log (the command could not write them there);
        // every line that was written is a recorded point, including those parsed while nothing could be recorded.
        long written = Files.readString(project.dir.resolve("log-copy.txt")).lines().filter(l -> l.startsWith("loss=")).count();
        assertThat(series("fills", "loss")).hasSize((int) written).hasSizeGreaterThan(60);
    }

    @Test
    void aDiskThatStaysFullIsAnInfrastructureFailureThatKeepsTheMetricsItCould() throws Exception {
        assumeTrue(root(), "needs root to mount a small file system (set CI=1 to insist)");
        project.write("fill.sh", "i=0\nwhile [ $i -lt 40 ]; do echo \"loss=$i step=$i\"; i=$((i+1)); sleep 0.02; done\n"
                + "head -c 20000000 /dev/zero > fill 2>/dev/null\nsleep 1\necho done\n").commit();
        Files.createDirectories(project.dir.resolve(".sortie"));
        Run r = inSmallDisk("run", "-n", "full", "--", "sh", "fill.sh");
        assertThat(r.code()).as(r.errText()).isEqualTo(3);
        assertThat(r.errText()).contains("could not be recorded").contains("free").contains(".sortie");
    }

    /** Runs sortie with the project's .sortie on a 16 MB tmpfs of a private mount namespace; keeps a copy of the run's log. */
    Run inSmallDisk(String... args) throws Exception {
        String sortie = project.dir.resolve(".sortie").toString();
        StringBuilder line = new StringBuilder("mount -t tmpfs -o size=16m tmpfs '" + sortie + "' && '" + launcher + "' -C '"
                + project.dir + "'");
        for (String a : args) {
            line.append(" '").append(a).append('\'');
        }
        line.append("; rc=$?; cp \"$(ls -d '" + sortie + "'/runs/*/logs/attempt-1.log | head -1)\" '" + project.dir
                + "/log-copy.txt'; cp -r '" + sortie + "/.' '" + tmp.resolve("kept") + "'; exit $rc");
        Files.createDirectories(tmp.resolve("kept"));
        Run r = launch(null, List.of("unshare", "--mount", "sh", "-c", line.toString()));
        // The tmpfs went with its namespace: its .sortie, as it was at the end, was copied out; put it back.
        Path back = new ProcessBuilder("cp", "-a", tmp.resolve("kept") + "/.", project.dir.resolve(".sortie").toString())
                .inheritIO().start().waitFor() == 0 ? null : tmp;
        assertThat(back).as("copied .sortie back").isNull();
        return r;
    }

    @Test
    void aSortieFolderRemovedDuringTheRunIsSaidNotWrittenIntoTheDeletedLedger() throws Exception {
        Path go = tmp.resolve("go");
        project.write("wait.sh", "echo started\nwhile [ ! -e '" + go + "' ]; do sleep 0.05; done\necho loss=1\n").commit();
        List<String> cmd = List.of(launcher.toString(), "-C", project.dir.toString(), "run", "-n", "gone", "--", "sh", "wait.sh");
        Path out = tmp.resolve("gone-out.txt");
        Path err = tmp.resolve("gone-err.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(out).contains("started")) {
            assertThat(System.nanoTime()).as("the run started").isLessThan(end);
            assertThat(p.isAlive()).as(Files.readString(err)).isTrue();
            Thread.sleep(50);
        }
        Process rm = new ProcessBuilder("rm", "-rf", project.dir.resolve(".sortie").toString()).inheritIO().start();
        assertThat(rm.waitFor()).isZero();
        Files.writeString(go, "");
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String stderr = Files.readString(err);
        System.err.println(stderr);
        assertThat(p.exitValue()).as(stderr).isEqualTo(3);
        assertThat(stderr).contains("could not be recorded").contains("removed").contains(".sortie");
        assertThat(project.dir.resolve(".sortie/ledger.db")).as("no new ledger made for it").doesNotExist();
        // nor a .sortie/ made again by the warning sortie's own log writes about it
        assertThat(project.dir.resolve(".sortie")).as("nothing made again").doesNotExist();
    }
}
