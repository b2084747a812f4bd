package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
        Path jar = tmp.resolve("agent/a.jar");
        Files.createDirectories(jar.getParent());
        if (!Files.exists(jar)) {
            Files.write(jar, new byte[0]); // the script checks the classpath is there; its content is not run here
        }
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", AgentLaunch.LAUNCH, "sortie-launch", jar.toString(),
                tmp.resolve("runs/e1").toString(), "1", slotsDir, slot, "");
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
        for (String tool : List.of("mkdir", "cat", "mv", "rm", "setsid", "flock", "sh")) {
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
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(lock) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(200);
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
}
