package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signals to a {@code sortie run} started by the real launcher ({@code ./sortie}) as a background job of a
 * non-interactive shell ({@code sh -c 'sortie run ... & wait'}), which starts it with SIGINT ignored: SIGINT stops
 * the run as Ctrl-C does, SIGTERM and SIGHUP interrupt it, and each exits 1.
 */
@Tag("integration")
class LauncherSignalsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Says it is running (with its pid) and sleeps until stopped. */
    static final String SLEEPER = """
            import os, sys, time
            print("ready", os.getpid(), flush=True)
            if len(sys.argv) > 1:
                with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(os.getpid()))
                os.rename(sys.argv[1] + ".tmp", sys.argv[1])
            while True: time.sleep(0.1)
            """;

    @TempDir
    static Path dist;
    static Path launcher;

    @TempDir
    Path tmp;
    TestProject project;

    /** The real launcher with this test's class path as its distribution (see {@link TestLauncher}). */
    @BeforeAll
    static void layOutTheLauncher() throws IOException {
        launcher = TestLauncher.layOut(dist);
    }

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("sleeper.py", SLEEPER).write("sortie.yaml", "name: sleeper\nrun: python3 sleeper.py\n").commit();
    }

    @Test
    void sigintStopsARunStartedInTheBackgroundOfAScript() throws Exception {
        Outcome o = signalBackgroundRun("INT", "int");
        assertThat(o.code).as(o.output).isEqualTo(1);
        assertThat(o.status).isEqualTo("stopped");
    }

    @Test
    void sigtermInterruptsTheRunAndExits1() throws Exception {
        Outcome o = signalBackgroundRun("TERM", "term");
        assertThat(o.code).as(o.output).isEqualTo(1);
        assertThat(o.status).isEqualTo("interrupted");
    }

    @Test
    void sighupInterruptsTheRunAndExits1() throws Exception {
        Outcome o = signalBackgroundRun("HUP", "hup");
        assertThat(o.code).as(o.output).isEqualTo(1);
        assertThat(o.status).isEqualTo("interrupted");
    }

    @Test
    void sigtermStopsAQueueWorkerWhichExits1AndRequeuesItsRun() throws Exception {
        Path pidFile = tmp.resolve("sleeper.pid");
        assertThat(project.sortie("run", "--queue", "-n", "queued", "--", "python3", "sleeper.py", pidFile.toString()).code()).isZero();
        Path output = tmp.resolve("worker.txt");
        Process shell = backgroundJob(output, "queue", "start");
        try {
            await("the queued run to start").atMost(TIMEOUT).pollInterval(Duration.ofMillis(50)).until(() -> Files.exists(pidFile));
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            kill("TERM", shell);
            boolean ended = shell.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            String out = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(ended).as("the worker ended after SIGTERM:\n" + out).isTrue();
            assertThat(shell.exitValue()).as(out).isEqualTo(1);
            await("the experiment's process to end").atMost(TIMEOUT).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
            JsonNode row = JSON.readTree(project.sortie("show", "--json").out()).get(0);
            assertThat(row.get("status").asText()).isIn("queued", "interrupted"); // re-queued per its retry policy
        } finally {
            shell.descendants().forEach(ProcessHandle::destroyForcibly);
            shell.destroyForcibly();
        }
    }

    /**
     * {@code sortie ARGS} by the launcher, as a background job of {@code sh -c} (which ignores SIGINT for it), the
     * shell itself started as a terminal's shell is, SIGHUP and SIGINT at their defaults, whatever the test run's own
     * are (a test run under nohup has SIGHUP ignored, and the launcher rightly keeps an ignored SIGHUP ignored).
     */
    Process backgroundJob(Path output, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (ChildJava.envResetsSignals()) {
            cmd.addAll(List.of("env", "--default-signal=HUP,INT"));
        }
        cmd.addAll(List.of("sh", "-c", "\"$0\" \"$@\" & wait $!", launcher.toString(), "-C", project.dir.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().put("SORTIE_CDS", "off");
        return pb.start();
    }

    /** Sends {@code signal} to the JVM the shell started (the launcher execs java). */
    static void kill(String signal, Process shell) throws Exception {
        ProcessHandle jvm = shell.toHandle().children().findFirst().orElseThrow();
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(jvm.pid())).inheritIO().start();
        assertThat(kill.waitFor(30, TimeUnit.SECONDS) && kill.exitValue() == 0).isTrue();
    }

    record Outcome(int code, String status, String output) {
    }

    /** Starts {@code sortie run} as a background job of {@code sh -c}, sends it {@code signal}, and waits for it. */
    Outcome signalBackgroundRun(String signal, String name) throws Exception {
        Path output = tmp.resolve("out.txt");
        Process shell = backgroundJob(output, "run", "-n", name);
        try {
            await("the run to start").atMost(TIMEOUT).pollInterval(Duration.ofMillis(50))
                    .until(() -> Files.exists(output) && Files.readString(output).matches("(?s).*ready \\d+\n.*"));
            Matcher ready = Pattern.compile("ready (\\d+)").matcher(Files.readString(output));
            assertThat(ready.find()).isTrue();
            long pid = Long.parseLong(ready.group(1));
            kill(signal, shell);
            boolean ended = shell.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            String out = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(ended).as("sortie ended after SIG" + signal + ":\n" + out).isTrue();
            await("the experiment's process to end").atMost(TIMEOUT).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
            TestProject.Result show = project.sortie("show", "--json");
            JsonNode row = JSON.readTree(show.out()).get(0);
            assertThat(row.get("name").asText()).isEqualTo(name);
            return new Outcome(shell.exitValue(), row.get("status").asText(), out);
        } finally {
            shell.descendants().forEach(ProcessHandle::destroyForcibly);
            shell.destroyForcibly();
        }
    }
}
