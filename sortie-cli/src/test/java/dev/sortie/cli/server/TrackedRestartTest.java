package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tracked run (the Python SDK posting to a server) whose process dies while the server is down: the server keeps
 * each run's last post in its ledger, so once restarted it ends the run lost {@code lost_after} after that post, not
 * {@code lost_after} after the restart (before, the last post lived only in the server's memory).
 */
@Tag("integration")
class TrackedRestartTest {
    static final int LOST_AFTER_S = 20;
    static final Duration OUTAGE = Duration.ofSeconds(8);
    @TempDir
    Path tmp;

    @Test
    void aRunWhoseSdkDiedWhileTheServerWasDownIsLostCountedFromItsLastPostNotFromTheRestart() throws Exception {
        Path dir = tmp.resolve("server");
        int port = ServerProcess.freePort();
        String url = "http://127.0.0.1:" + port;
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ServerProcess.Result made = ServerProcess.sortie(dir, "server", "token", "create", "--name", "carol");
        assertThat(made.code()).as(made.err()).isZero();
        String token = made.lastLine();
        Map<String, String> env = Map.of("SORTIE_TRACKED_LOST_AFTER_S", Integer.toString(LOST_AFTER_S));
        String script = """
                import time, sortie
                run = sortie.start(name="py-gone")
                s = 0
                while True:
                    run.log(loss=1.0 / (s + 1), step=s)
                    if s == 3:
                        run.flush()
                        print("started", flush=True)
                    s += 1
                    time.sleep(0.1)
                """;
        Path out = tmp.resolve("py.txt");
        ProcessBuilder pb = new ProcessBuilder("python3", "-c", script).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SORTIE_"));
        pb.environment().put("PYTHONPATH", SdkServerTest.SDK.toString());
        pb.environment().putAll(SdkServerTest.login(url, token));
        Process sdk = null;
        Instant killed;
        try (ServerProcess first = ServerProcess.start(dir, env, client, "--workers", "0", "--port", Integer.toString(port))) {
            sdk = pb.start();
            Process p = sdk;
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
                if (!p.isAlive()) {
                    throw new AssertionError("the SDK's program ended: " + Files.readString(out));
                }
                return Files.readString(out).contains("started");
            });
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> first.json("/api/v1/experiments/py-gone/metrics/loss", token).get("total_points").asInt() >= 10);
            // the server dies first, then the SDK's process: its last post came before this instant
            killed = Instant.now();
            first.kill();
            sdk.destroyForcibly();
            assertThat(sdk.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            if (sdk != null && sdk.isAlive()) {
                sdk.destroyForcibly();
            }
        }
        // the outage itself (no condition to wait for: the server is simply down this long), long enough that
        // counting from the restart and counting from the last post differ by more than the liveness loop's period
        Thread.sleep(OUTAGE.toMillis());
        Instant restarted = Instant.now();
        try (ServerProcess second = ServerProcess.start(dir, env, client, "--workers", "0", "--port", Integer.toString(port))) {
            await().atMost(Duration.ofSeconds(LOST_AFTER_S * 3L)).pollInterval(Duration.ofMillis(200))
                    .until(() -> second.json("/api/v1/experiments/py-gone", token).get("status").asText().equals("interrupted"));
            JsonNode e = second.json("/api/v1/experiments/py-gone", token);
            Instant ended = Instant.parse(e.get("ended").asText());
            assertThat(e.get("error").asText()).startsWith("lost: the SDK of this run on ").contains(LOST_AFTER_S + " s allowed");
            assertThat(ended).as("lost %d s after its last post (before %s), not %d s after the restart at %s", LOST_AFTER_S, killed,
                    LOST_AFTER_S, restarted).isBefore(restarted.plusSeconds(LOST_AFTER_S));
            // its last post was recorded at most lost_after/16 before it came: the run was not ended at the restart
            assertThat(ended).as("not before lost_after from its last post").isAfter(killed.plusSeconds(LOST_AFTER_S - 3));
        }
    }
}
