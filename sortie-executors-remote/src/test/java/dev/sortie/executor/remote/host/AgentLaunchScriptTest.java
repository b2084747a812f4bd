package dev.sortie.executor.remote.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launch script as a host's shell runs it (real sh, real flock), for the outcomes a test host cannot easily
 * be made to show over SSH: no Java on the PATH, a slot another run holds.
 */
@Tag("integration")
class AgentLaunchScriptTest {
    @TempDir
    Path tmp;

    record Ran(int code, String out, String err) {
    }

    Ran launch(Path bin, String slotsDir, String slot) throws Exception {
        return launch(bin, "agent/a.jar", slotsDir, slot, "");
    }

    /** Runs the launch script with {@code bin} as PATH, a jar (empty: its content is not run here) and "{}" as run file. */
    Ran launch(Path bin, String jarName, String slotsDir, String slot, String archive) throws Exception {
        Path jar = tmp.resolve(jarName);
        Files.createDirectories(jar.getParent());
        if (!Files.exists(jar)) {
            Files.write(jar, new byte[0]); // the script checks the classpath is there
        }
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", AgentLaunch.LAUNCH, "sortie-launch", jar.toString(),
                tmp.resolve("runs/e1").toString(), "1", slotsDir, slot, "", archive);
        pb.environment().clear();
        pb.environment().put("PATH", bin.toString());
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        Process p = pb.start();
        p.getOutputStream().write("{}".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Ran(p.exitValue(), out, err);
    }

    /** A PATH with the tools the script needs, and java only if asked. */
    Path bin(boolean withJava) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve(withJava ? "bin-java" : "bin"));
        for (String tool : List.of("mkdir", "cat", "mv", "rm", "setsid", "flock", "sh", "grep", "tr", "sleep")) {
            Path real = Path.of("/usr/bin", tool);
            Files.createSymbolicLink(bin.resolve(tool), Files.exists(real) ? real : Path.of("/bin", tool));
        }
        if (withJava) {
            Files.createSymbolicLink(bin.resolve("java"), Path.of(ProcessHandle.current().info().command().orElseThrow()));
        }
        return bin;
    }

    @Test
    void anAgentGoneFromTheHostIsReportedBeforeAnythingIsWritten() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", AgentLaunch.LAUNCH, "sortie-launch",
                tmp.resolve("agent/gone.jar") + ":" + tmp.resolve("agent/also-gone.jar"), tmp.resolve("runs/e1").toString(), "1", "", "", "");
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(AgentLaunch.EXIT_AGENT_MISSING);
        assertThat(tmp.resolve("runs/e1")).doesNotExist();
    }

    @Test
    void codeRememberedButGoneFromTheHostIsReportedBeforeAnythingIsWritten() throws Exception {
        Path jar = Files.createDirectories(tmp.resolve("agent")).resolve("a.jar");
        Files.write(jar, new byte[0]);
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", AgentLaunch.LAUNCH, "sortie-launch", jar.toString(),
                tmp.resolve("runs/e1").toString(), "1", "", "", tmp.resolve("cache/trees/abc").toString());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(AgentLaunch.EXIT_CODE_MISSING);
        assertThat(tmp.resolve("runs/e1")).doesNotExist();
    }

    @Test
    void aHostWithoutJavaExitsWithTheCodeThatSaysSo() throws Exception {
        Ran r = launch(bin(false), "", "");
        assertThat(r.code()).isEqualTo(AgentLaunch.EXIT_NO_JAVA);
        assertThat(r.err()).contains("no java");
        assertThat(tmp.resolve("runs/e1/run-1.json")).hasContent("{}");
        assertThat(tmp.resolve("runs/e1/agent-1.pid")).doesNotExist();
    }

    @Test
    void aSlotHeldByAnotherRunIsRefusedBeforeAnythingStarts() throws Exception {
        Path slots = Files.createDirectories(tmp.resolve("slots"));
        Process holder = new ProcessBuilder("flock", slots.resolve("0.lock").toString(), "sleep", "30").start();
        try {
            Path lock = slots.resolve("0.lock");
            // held: a non-blocking flock of it fails
            Awaitility.await("the slot's lock held").atMost(Duration.ofSeconds(10)).until(() -> Files.exists(lock)
                    && new ProcessBuilder("flock", "-n", lock.toString(), "true").start().waitFor() == 1);
            Path bin = bin(true);
            Ran r = launch(bin, slots.toString(), "0");
            assertThat(r.code()).isEqualTo(AgentLaunch.EXIT_SLOT_BUSY);
            assertThat(tmp.resolve("runs/e1/agent-1.pid")).doesNotExist();
            Ran other = launch(bin, slots.toString(), "1");
            assertThat(other.code()).as(other.err()).isZero();
            assertThat(other.out().strip()).matches("\\d+");
        } finally {
            holder.destroyForcibly().waitFor();
        }
    }

    /** A "java" that writes its arguments (one call a line) and, asked to dump an archive, makes the file. */
    Path recordingJava() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin-recording"));
        for (String tool : List.of("mkdir", "cat", "mv", "rm", "setsid", "flock", "sh", "stat", "grep", "nice", "sleep", "df", "awk")) {
            Path real = Path.of("/usr/bin", tool);
            Files.createSymbolicLink(bin.resolve(tool), Files.exists(real) ? real : Path.of("/bin", tool));
        }
        Path java = bin.resolve("java");
        Files.writeString(java, """
                #!/bin/sh
                echo "$*" >> "%s"
                for a in "$@"; do
                  case "$a" in
                    -XX:SharedArchiveFile=*) [ "$1" = -Xshare:dump ] && echo archive > "${a#*=}" ;;
                    -XX:DumpLoadedClassList=*) echo "dev/sortie/agent/remote/AgentMain" > "${a#*=}"; echo "@lambda-proxy x" >> "${a#*=}" ;;
                  esac
                done
                """.formatted(tmp.resolve("java-calls")));
        java.toFile().setExecutable(true);
        return bin;
    }

    Ran launchWithArchive(Path bin, String archive) throws Exception {
        return launch(bin, "agent/a b.jar", "", "", archive);
    }

    List<String> javaCalls() {
        try {
            Path calls = tmp.resolve("java-calls");
            return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    void waitFor(String what, java.util.function.BooleanSupplier done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void theAgentsClassArchiveIsRecordedThenMadeInTheBackgroundThenUsed() throws Exception {
        Path bin = recordingJava();
        String archive = tmp.resolve("agent/cds dir/k1").toString(); // a space: every use must be quoted

        // first launch: the agent records the classes it loads
        assertThat(launchWithArchive(bin, archive).code()).isZero();
        waitFor("the first agent", () -> javaCalls().size() == 1);
        assertThat(javaCalls().get(0)).contains("-XX:DumpLoadedClassList=" + archive + "-").contains("AgentMain run");
        Path cds = tmp.resolve("agent/cds dir");
        waitFor("the class list", () -> list(cds).stream().anyMatch(f -> f.contains(".jsa.list.")));

        // second launch: runs as before, and makes the archive from that list in the background
        assertThat(launchWithArchive(bin, archive).code()).isZero();
        waitFor("the archive", () -> list(cds).stream().anyMatch(f -> f.endsWith(".jsa")));
        assertThat(javaCalls()).anySatisfy(c -> assertThat(c).startsWith("-Xshare:dump -XX:SharedClassListFile="));
        waitFor("the class lists to be cleaned up", () -> list(cds).stream().noneMatch(f -> f.contains(".list.") || f.endsWith(".classes")));

        // third launch: the agent's JVM maps the archive
        int before = javaCalls().size();
        assertThat(launchWithArchive(bin, archive).code()).isZero();
        waitFor("the third agent", () -> javaCalls().size() > before);
        String jsa = list(cds).stream().filter(f -> f.endsWith(".jsa")).findFirst().orElseThrow();
        assertThat(javaCalls().get(before)).contains("-XX:SharedArchiveFile=" + cds.resolve(jsa)).contains("AgentMain run");
    }

    @Test
    void withoutAnArchiveNameTheAgentStartsPlain() throws Exception {
        Path bin = recordingJava();
        assertThat(launchWithArchive(bin, "").code()).isZero();
        waitFor("the agent", () -> javaCalls().size() == 1);
        assertThat(javaCalls().get(0)).doesNotContain("SharedArchiveFile").doesNotContain("DumpLoadedClassList").contains("AgentMain run");
    }

    static List<String> list(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (java.io.IOException e) {
            return List.of();
        }
    }
}
