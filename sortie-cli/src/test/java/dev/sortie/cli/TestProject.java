package dev.sortie.cli;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway project in a real git repository, and ways to drive the real CLI against it: in this JVM
 * ({@link #sortie}, output captured) or as its own process ({@link #spawn}) when a test must kill it.
 */
final class TestProject {
    final Path dir;

    TestProject(Path dir) throws Exception {
        this(dir, true);
    }

    private TestProject(Path dir, boolean withGit) throws Exception {
        this.dir = dir;
        Files.createDirectories(dir);
        if (withGit) {
            git("init", "-q");
            git("config", "user.email", "test@localhost");
            git("config", "user.name", "Test");
        }
    }

    /** A project folder that is not a git repository. */
    static TestProject plain(Path dir) throws Exception {
        return new TestProject(dir, false);
    }

    TestProject write(String path, String content) throws IOException {
        Path p = dir.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return this;
    }

    String read(String path) throws IOException {
        return Files.readString(dir.resolve(path), StandardCharsets.UTF_8);
    }

    TestProject commit() throws Exception {
        git("add", "-A");
        git("commit", "-q", "-m", "test");
        return this;
    }

    String git(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("git");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("git " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    /** Waits up to 60 s for experiment {@code name} to be in this project's ledger and no longer running; returns it. */
    Experiment awaitEnd(String name) throws Exception {
        Experiment[] e = {null};
        RunLifecycleTest.waitUntil(name + " to end", Duration.ofSeconds(60), () -> {
            try (Ledger l = SqliteLedger.open(dir.resolve(".sortie/ledger.db"))) {
                e[0] = l.find(name).orElse(null);
                return e[0] != null && e[0].status() != ExperimentStatus.RUNNING;
            }
        });
        return e[0];
    }

    /** The first experiment of this project's ledger (the one, in tests that run one), or null before there is one. */
    Experiment onlyExperiment() throws Exception {
        try (Ledger l = SqliteLedger.open(dir.resolve(".sortie/ledger.db"))) {
            List<Experiment> all = l.list();
            return all.isEmpty() ? null : all.get(0);
        }
    }

    /** How many points of {@code metric} the ledger has for {@code e}. */
    int points(Experiment e, String metric) throws Exception {
        try (Ledger l = SqliteLedger.open(dir.resolve(".sortie/ledger.db"))) {
            return l.series(e.id(), metric).size();
        }
    }

    /** Runs {@code sortie -C dir ARGS} in this JVM. */
    Result sortie(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            List<String> all = new ArrayList<>(List.of("-C", dir.toString()));
            all.addAll(List.of(args));
            code = Main.execute(all.toArray(new String[0]));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        Result r = new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        oldErr.println("$ sortie " + String.join(" ", args) + "  -> " + code + "\n" + r.out + r.err);
        return r;
    }

    /** Starts {@code sortie -C dir ARGS} as a separate JVM, output to {@code output}. */
    Process spawn(Path output, String... args) throws IOException {
        return processBuilder(output, args).start();
    }

    /**
     * The JVM flags the {@code sortie} launcher gives a short command (the C1 compiler, said with
     * {@code -Dsortie.jit=c1} as the launcher says it, the serial GC, class-data sharing when the JDK has it): a
     * spawned sortie then costs about half the CPU of a default JVM's start (measured: 0.9 s of user time for a
     * local {@code sortie run} instead of 1.8-2.6 s), which on CI's two cores shared by sshd hosts, simcloud and
     * the training scripts is most of a test's wall time. Behaviour is the product's as its launcher runs it.
     */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dsortie.jit=c1", "-Xshare:auto");

    /** The process {@link #spawn} starts, for tests that add to its environment. */
    ProcessBuilder processBuilder(Path output, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.addAll(ChildJava.command()); // SIGINT and SIGHUP at their defaults, as a terminal starts sortie
        cmd.addAll(JVM_FLAGS);
        cmd.add("-cp");
        String cp = System.getProperty("surefire.test.class.path");
        cmd.add(cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("-C");
        cmd.add(dir.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
        String sshDir = System.getProperty(SshHosts.PROPERTY);
        if (sshDir != null) {
            pb.environment().put("SORTIE_SSH_DIR", sshDir); // the test's ssh folder, as the in-JVM commands get it
        }
        return pb;
    }

    record Result(int code, String out, String err) {
    }
}
