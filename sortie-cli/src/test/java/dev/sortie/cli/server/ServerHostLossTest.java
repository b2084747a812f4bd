package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.cli.SshHosts;
import dev.sortie.executor.ssh.SshdFixture;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run the server drains to an ssh host that dies under it, with no {@code sortie} of a user running: the server
 * declares it lost after {@code lost_after}, marks the attempt interrupted, queues it again by its retry policy,
 * and once the host is back runs the next attempt there from the checkpoint collected before the host died.
 */
@Tag("integration")
@Timeout(300)
class ServerHostLossTest {
    static final String TRAIN = """
            import os, sys, time
            os.makedirs("checkpoints", exist_ok=True)
            start = 0
            if os.path.exists("checkpoints/step.txt"):
                start = int(open("checkpoints/step.txt").read()) + 1
                print("resumed at", start, flush=True)
            for i in range(start, 20):
                print(f"loss={1.0 / (i + 1):.4f} step={i}", flush=True)
                open("checkpoints/step.tmp", "w").write(str(i))
                os.replace("checkpoints/step.tmp", "checkpoints/step.txt")
                time.sleep(0.4)
            """;

    @TempDir
    Path tmp;

    @Test
    void aDrainedRunWhoseHostDiesIsMarkedLostRequeuedByItsRetriesAndResumedWhenTheHostIsBack() throws Exception {
        try (SshHosts hosts = SshHosts.start(1)) {
            SshdFixture host = hosts.get(0);
            Path dir = tmp.resolve("server");
            Files.createDirectories(dir.resolve(".sortie"));
            Files.writeString(dir.resolve("train.py"), TRAIN);
            Files.writeString(dir.resolve(".sortie/config.yaml"), "executors:\n"
                    + SshHosts.executor("box", host, host.hostDir(), "lost_after: 3s", "keepalive: 1s", "connect_timeout: 2s"));
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            try (ServerProcess server = ServerProcess.start(dir, Map.of("SORTIE_SSH_DIR", hosts.sshDir.toString()), client, "--workers", "1")) {
                String token = server.token("alice", false);
                String task = "name: lossy\nrun: python3 train.py\ncheckpoints: checkpoints/\ncheckpoint_interval: 1s\nretries: 1\n";
                String id = server.postJson("/api/v1/experiments", token, "{\"task\": " + ServerProcess.JSON.writeValueAsString(task)
                        + ", \"executor\": \"box\"}", 201).get("id").asText();
                // going on the host, a checkpoint saved: then the host dies
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
                    JsonNode e = server.json("/api/v1/experiments/" + id, token);
                    return e.get("metrics").has("loss") && e.get("metrics").get("loss").asDouble() <= 1.0 / 5
                            && server.json("/api/v1/experiments/" + id + "/artifacts", token).toString().contains("checkpoint");
                });
                host.kill();
                // no sortie of a user anywhere: the server marks attempt 1 lost and queues attempt 2 (retries: 1)
                JsonNode[] last = new JsonNode[1];
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
                    last[0] = server.json("/api/v1/experiments/" + id, token);
                    assertThat(last[0].get("status").asText()).as(last[0].toString()).isIn("running", "queued", "interrupted");
                    return last[0].get("attempt").asInt() == 2;
                });
                JsonNode requeued = last[0];
                JsonNode first = requeued.get("attempts").get(0);
                assertThat(first.get("status").asText()).isEqualTo("interrupted");
                assertThat(first.get("error").asText()).contains("lost");
                // the host comes back: the worker runs attempt 2 there, from the checkpoint collected before
                host.restart();
                JsonNode done = server.awaitStatus(id, token, "succeeded");
                assertThat(done.get("attempt").asInt()).isEqualTo(2);
                String log = server.get("/api/v1/experiments/" + id + "/logs?attempt=2", token).body();
                assertThat(log).contains("resumed at").contains("step=19");
                assertThat(log).doesNotContain("step=0\n");
            }
        }
    }
}
