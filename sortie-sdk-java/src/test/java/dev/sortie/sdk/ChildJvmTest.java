package dev.sortie.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real child JVM, killed with SIGTERM or exiting without close(): what it logged is in the file. */
@Tag("integration")
class ChildJvmTest {
    @TempDir
    Path dir;

    private static Process child(Path events, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xshare:auto");
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(ChildMain.class.getName());
        cmd.add(events.toString());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
    }

    @Test
    void sigtermKeepsEveryPointLoggedBeforeTheLastFlushInterval() throws Exception {
        Path events = dir.resolve("events.jsonl");
        Process p = child(events, "forever");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("started");
            // The child says which step it has logged; the time we hear it is after it was logged.
            List<long[]> heard = Collections.synchronizedList(new ArrayList<>()); // {millis heard, step}
            Thread listener = new Thread(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        heard.add(new long[] {System.currentTimeMillis(), Long.parseLong(line.strip())});
                    }
                } catch (Exception e) {
                    // the child is gone
                }
            });
            listener.setDaemon(true);
            listener.start();
            // the child has logged for more than a second
            Awaitility.await("a second of steps").atMost(Duration.ofSeconds(60)).until(() -> {
                synchronized (heard) {
                    return !heard.isEmpty() && System.currentTimeMillis() - heard.get(0)[0] > 1000;
                }
            });
            long killedAt = System.currentTimeMillis();
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the child exits on SIGTERM").isTrue();
            assertThat(p.exitValue()).isEqualTo(143); // 128 + SIGTERM: the JVM's own shutdown, hooks run
            listener.join(5000);

            long mustHave = -1; // the last step surely logged more than 0.5 s before the kill
            synchronized (heard) {
                for (long[] h : heard) {
                    if (h[0] <= killedAt - 500) {
                        mustHave = Math.max(mustHave, h[1]);
                    }
                }
            }
            assertThat(mustHave).as("the child logged for a second before the kill").isGreaterThan(0);

            List<Map<String, Object>> all = Events.read(events); // whole lines only, the last one complete
            List<Long> steps = new ArrayList<>();
            List<Long> loggedAt = new ArrayList<>();
            for (Map<String, Object> e : all) {
                assertThat(e.get("e")).isEqualTo("m");
                steps.add((Long) e.get("s"));
                loggedAt.add(((Number) Events.values(e).get("t")).longValue());
            }
            for (int i = 0; i < steps.size(); i++) {
                assertThat(steps.get(i)).as("point %d: none lost, none twice, in order", i).isEqualTo(i);
            }
            assertThat(steps.size() - 1L).as("every point logged more than 0.5 s before the kill is in the file")
                    .isGreaterThanOrEqualTo(mustHave);
            long last = loggedAt.get(loggedAt.size() - 1);
            System.out.printf("sortie-sdk-java: SIGTERM test: %d points kept (%d had to be); the last was logged %d ms"
                    + " before the SIGTERM was sent (negative: after)%n", steps.size(), mustHave + 1, killedAt - last);
            assertThat(all).noneMatch(e -> "end".equals(e.get("e"))); // inside a scheduled run the exit decides
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void systemExitWithoutCloseKeepsEverythingAndWritesNoEnd() throws Exception {
        Path events = dir.resolve("events.jsonl");
        Process p = child(events, "exit", "50000");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isEqualTo(3);
        List<Map<String, Object>> all = Events.read(events);
        assertThat(Events.metric(all, "x")).hasSize(50_000);
        assertThat(Events.ofKind(all, "end")).isEmpty();
    }

    @Test
    void failedThenExitWithoutCloseEndsFailed() throws Exception {
        Path events = dir.resolve("events.jsonl");
        Process p = child(events, "fail-exit");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<Map<String, Object>> all = Events.read(events);
        assertThat(Events.metric(all, "x")).hasSize(10);
        assertThat(Events.ofKind(all, "end")).singleElement().satisfies(e -> assertThat(e)
                .containsEntry("status", "failed").containsEntry("error", "java.lang.IllegalStateException: gave up"));
    }
}
