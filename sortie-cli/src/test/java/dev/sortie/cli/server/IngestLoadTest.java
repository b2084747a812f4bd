package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.agent.remote.HomeReporter;
import dev.sortie.agent.remote.JournalRecord;
import dev.sortie.agent.remote.JournalWriter;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest load test (issue 12): simulated agents, each the real {@link HomeReporter} over a journal and a log
 * that a writer fills at a fixed rate, report home to one server on loopback; the server is SIGKILLed in the middle
 * and started again on the same port; every point and every log byte arrives exactly once. The loops are bounded:
 * each writer stops after its points, each reporter once its end is recorded.
 *
 * <p>Small by default (20 agents, 10 points/s, 10 s); the full run of bench/ingest.sh is 100 agents for 60 s:
 * {@code -Dsortie.load.agents=100 -Dsortie.load.seconds=60}. It prints one {@code sortie-bench:} line of results.
 */
@Tag("integration")
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class IngestLoadTest {
    @TempDir
    Path tmp;

    private record Agent(String id, Path journal, Path log, HomeReporter reporter, CountDownLatch written) {
    }

    @Test
    void everyPointArrivesExactlyOnceThroughAServerSigkilledAndRestartedMidLoad() throws Exception {
        int agents = Integer.getInteger("sortie.load.agents", 20);
        int rate = Integer.getInteger("sortie.load.rate", 10);
        int seconds = Integer.getInteger("sortie.load.seconds", 10);
        int perAgent = rate * seconds;
        int port = ServerProcess.freePort();
        Path dir = tmp.resolve("server");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ServerProcess server = ServerProcess.start(dir, Map.of(), client, "--workers", "0", "--port", Integer.toString(port));
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        List<Agent> all = new ArrayList<>();
        ScheduledExecutorService writers = Executors.newScheduledThreadPool(4);
        try {
            String token = server.token("load", false);
            for (int i = 0; i < agents; i++) {
                String id = server.postJson("/api/v1/experiments", token, "{\"command\": [\"true\"], \"name\": \"agent-" + i + "\"}", 201)
                        .get("id").asText();
                Path runDir = tmp.resolve("agents").resolve(id);
                Files.createDirectories(runDir.resolve("logs"));
                HomeReporter r = new HomeReporter(server.url + "/api/v1", token, id, 1, runDir.resolve("journal-1.jsonl"),
                        runDir.resolve("logs/attempt-1.log"), HomeReporter.stateFile(runDir, 1), Duration.ofMillis(500))
                        .onReport(latencies::add);
                all.add(new Agent(id, runDir.resolve("journal-1.jsonl"), runDir.resolve("logs/attempt-1.log"), r, new CountDownLatch(1)));
            }
            long start = System.nanoTime();
            List<ScheduledFuture<?>> loops = new ArrayList<>();
            for (Agent a : all) {
                a.reporter().start();
                JournalWriter journal = new JournalWriter(a.journal());
                AtomicLong step = new AtomicLong();
                loops.add(writers.scheduleAtFixedRate(() -> {
                    long s = step.incrementAndGet();
                    if (s > perAgent) {
                        return;
                    }
                    try {
                        Files.write(a.log(), line(s), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                        journal.write(new JournalRecord.Metrics(List.of(new MetricPoint("loss", s, 1.0 / s, Instant.now()))));
                        if (s == perAgent) {
                            journal.write(new JournalRecord.End(new RunOutcome(ExperimentStatus.SUCCEEDED, 0, null), Files.size(a.log())));
                            journal.close();
                            a.written().countDown();
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, 0, 1000 / rate, TimeUnit.MILLISECONDS));
            }
            // the server dies without a word in the middle of the load, and comes back where the agents post
            Thread.sleep(seconds * 500L);
            server.kill();
            long down = System.nanoTime();
            server = ServerProcess.start(dir, Map.of(), client, "--workers", "0", "--port", Integer.toString(port));
            double outage = (System.nanoTime() - down) / 1e9;
            for (Agent a : all) {
                assertThat(a.written().await(seconds + 120L, TimeUnit.SECONDS)).isTrue();
            }
            loops.forEach(f -> f.cancel(false));
            for (Agent a : all) {
                assertThat(a.reporter().finish(Duration.ofSeconds(120))).as(a.id() + ": " + a.reporter().gaveUp()).isTrue();
            }
            double elapsed = (System.nanoTime() - start) / 1e9;

            long points = 0;
            long failures = 0;
            for (Agent a : all) {
                JsonNode series = server.json("/api/v1/experiments/" + a.id() + "/metrics/loss?points=100000", token);
                assertThat(series.get("total_points").asInt()).as(a.id()).isEqualTo(perAgent);
                points += series.get("total_points").asInt();
                StringBuilder expected = new StringBuilder();
                for (int s = 1; s <= perAgent; s++) {
                    expected.append(new String(line(s), StandardCharsets.UTF_8));
                }
                assertThat(server.get("/api/v1/experiments/" + a.id() + "/logs", token).body()).as(a.id()).isEqualTo(expected.toString());
                failures += a.reporter().failures();
            }
            assertThat(points).isEqualTo((long) agents * perAgent);
            assertThat(failures).as("reports sent again after the kill").isPositive();
            List<Long> sorted = new ArrayList<>(latencies);
            sorted.sort(null);
            double p50 = sorted.get(sorted.size() / 2) / 1e6;
            double p99 = sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * 0.99))) / 1e6;
            String load = Files.readString(Path.of("/proc/loadavg")).trim();
            System.out.printf(java.util.Locale.ROOT, "sortie-bench: ingest agents=%d rate=%d/s seconds=%d offered=%d points/s points=%d (expected %d, lost 0,"
                            + " duplicated 0) held=%.0f points/s over %.1f s reports=%d p50=%.1f ms p99=%.1f ms resent=%d outage=%.1f s loadavg=%s%n",
                    agents, rate, seconds, agents * rate, points, (long) agents * perAgent, points / elapsed, elapsed, sorted.size(), p50, p99,
                    failures, outage, load);
        } finally {
            writers.shutdownNow();
            all.forEach(a -> a.reporter().close());
            server.close();
        }
    }

    private static byte[] line(long step) {
        return ("step " + step + " loss=" + (1.0 / step) + "\n").getBytes(StandardCharsets.UTF_8);
    }
}
