package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.cli.SshHosts;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the server dispatches reporting home: the run's own token (SORTIE_TOKEN) and where to post (SORTIE_API) in
 * its environment, that token good for that run's reports only and only while it runs; a run on an ssh host whose
 * agent posts its log and metrics as they happen, through a server SIGKILLed and restarted mid-run, complete and once.
 */
@Tag("integration")
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class AgentHomeTest {
    /** Posts a metric home with the run's environment, writes its token where the test reads it, waits for a gate. */
    static final String POSTS_HOME = """
            import json, os, sys, time, urllib.request
            gate, out = sys.argv[1], sys.argv[2]
            body = {"attempt": int(os.environ["SORTIE_ATTEMPT"]), "metrics": [{"key": "posted", "step": 1, "value": 42}]}
            req = urllib.request.Request(os.environ["SORTIE_API"] + "/reports/" + os.environ["SORTIE_EXPERIMENT_ID"],
                data=json.dumps(body).encode(), headers={"Authorization": "Bearer " + os.environ["SORTIE_TOKEN"],
                "Content-Type": "application/json"})
            print("posted", urllib.request.urlopen(req).status, flush=True)
            open(out + ".tmp", "w").write(os.environ["SORTIE_TOKEN"] + "\\n" + os.environ["SORTIE_API"] + "\\n")
            os.replace(out + ".tmp", out)
            while not os.path.exists(gate):
                time.sleep(0.05)
            """;

    @TempDir
    Path tmp;

    @Test
    void aRunDispatchedByTheServerGetsATokenOfItsOwnGoodForItsReportsOnlyWhileItRuns() throws Exception {
        // a run's token expires this long after the run ended (2 minutes unless told)
        Map<String, String> grace = Map.of("SORTIE_RUN_TOKEN_GRACE_S", "1");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (ServerProcess server = ServerProcess.start(tmp.resolve("server"), grace, client, "--workers", "2")) {
            String token = server.token("alice", false);
            Path gate = tmp.resolve("gate");
            Path out = tmp.resolve("run-token");
            String id = server.postJson("/api/v1/experiments", token, "{\"command\": [\"python3\", \"-c\", "
                    + ServerProcess.JSON.writeValueAsString(POSTS_HOME) + ", \"" + gate + "\", \"" + out + "\"], \"executor\": \"local\"}", 201)
                    .get("id").asText();
            // a waiting run that shares nothing with the first: the first's token must not reach it
            String other = server.postJson("/api/v1/experiments", token, "{\"command\": [\"sh\", \"-c\", \"while [ ! -e \\\"$0\\\" ]; do sleep 0.05; done\", \""
                    + gate + "\"], \"executor\": \"local\"}", 201).get("id").asText();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> Files.exists(out));
            List<String> lines = Files.readAllLines(out);
            String runToken = lines.get(0);
            assertThat(lines.get(1)).isEqualTo(server.url + "/api/v1");
            assertThat(runToken).isNotEqualTo(token).startsWith("sortie_run_");

            // the metric the run posted is there while it runs
            JsonNode live = server.json("/api/v1/experiments/" + id, token);
            assertThat(live.get("status").asText()).isEqualTo("running");
            assertThat(live.get("metrics").get("posted").asDouble()).isEqualTo(42.0);

            // the run's token: its own reports, nothing else
            assertThat(server.post("/api/v1/reports/" + id, runToken, "{\"attempt\": 1, \"metrics\": [{\"key\": \"again\", \"step\": 1, \"value\": 1}]}")
                    .statusCode()).isEqualTo(200);
            HttpResponse<String> another = server.post("/api/v1/reports/" + other, runToken, "{\"attempt\": 1}");
            assertThat(another.statusCode()).isEqualTo(403);
            assertThat(another.body()).contains("token of run " + id, "may only POST /api/v1/reports/" + id);
            assertThat(server.get("/api/v1/experiments", runToken).statusCode()).isEqualTo(403);
            assertThat(server.get("/api/v1/experiments/" + id, runToken).statusCode()).isEqualTo(403);
            assertThat(server.post("/api/v1/experiments/" + other + "/stop", runToken, "{}").statusCode()).isEqualTo(403);
            assertThat(server.post("/api/v1/experiments", runToken, "{\"command\": [\"true\"]}").statusCode()).isEqualTo(403);
            // not a user's token: not listed, not revoked by name
            ServerProcess.Result list = ServerProcess.sortie(server.dir, "server", "token", "list");
            assertThat(list.out()).contains("alice").doesNotContain("run-" + id);

            Files.writeString(gate, "");
            server.awaitStatus(id, token, "succeeded");
            server.awaitStatus(other, token, "succeeded");
            // expired with the run (after its grace)
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> server.post("/api/v1/reports/" + id, runToken, "{\"attempt\": 1}").statusCode() == 401);
            assertThat(server.logsAndOutput()).doesNotContain(runToken);
        }
    }

    /** Prints 20 steps, a tick once gate 1 is there, 20 more steps once gate 2 is there. */
    static final String TRAINS = """
            import os, sys, time
            g1, g2 = sys.argv[1], sys.argv[2]
            for i in range(1, 21):
                print(f"step={i} loss={1.0 / i:.4f}", flush=True)
                time.sleep(0.02)
            while not os.path.exists(g1):
                time.sleep(0.02)
            print("tick=1 step=1", flush=True)
            while not os.path.exists(g2):
                time.sleep(0.02)
            for i in range(21, 41):
                print(f"step={i} loss={1.0 / i:.4f}", flush=True)
            """;

    @Test
    void aRunOnAnSshHostReportsHomeLiveAndCompleteOnceThroughAServerKilledMidRun() throws Exception {
        try (SshHosts hosts = SshHosts.start(1)) {
            Path remote = tmp.resolve("host");
            Path dir = tmp.resolve("server");
            Files.createDirectories(dir.resolve(".sortie"));
            Files.writeString(dir.resolve(".sortie/config.yaml"), "executors:\n" + SshHosts.executor("box", hosts.get(0), remote));
            int port = ServerProcess.freePort();
            Map<String, String> env = Map.of("SORTIE_SSH_DIR", hosts.sshDir.toString());
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            Path g1 = tmp.resolve("g1");
            Path g2 = tmp.resolve("g2");
            String token;
            String id;
            try (ServerProcess first = ServerProcess.start(dir, env, client, "--workers", "1", "--port", Integer.toString(port))) {
                token = first.token("alice", false);
                id = first.postJson("/api/v1/experiments", token, "{\"command\": [\"python3\", \"-c\", " + ServerProcess.JSON.writeValueAsString(TRAINS)
                        + ", \"" + g1 + "\", \"" + g2 + "\"], \"executor\": \"box\"}", 201).get("id").asText();
                // live: the metric is readable through the API while the run goes on
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
                    JsonNode e = first.json("/api/v1/experiments/" + id, token);
                    return e.get("metrics").has("loss") && e.get("metrics").get("loss").asDouble() == 0.05;
                });
                assertThat(first.json("/api/v1/experiments/" + id, token).get("status").asText()).isEqualTo("running");
                // a metric printed now: readable through the API within 2 s (under load here: 5 s at most)
                long t0 = System.nanoTime();
                Files.writeString(g1, "");
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                        .until(() -> first.json("/api/v1/experiments/" + id, token).get("metrics").has("tick"));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("sortie-bench: metric printed -> readable through the API in " + ms + " ms (ssh host, loopback)");
                first.kill();
            }
            // the run goes on and ends on its host while no server is there
            Files.writeString(g2, "");
            Path runDir = findRunDir(remote, id);
            Path journal = runDir.resolve("journal-1.jsonl");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Files.exists(journal) && Files.readString(journal).contains("\"t\":\"end\""));
            try (ServerProcess second = ServerProcess.start(dir, env, client, "--workers", "1", "--port", Integer.toString(port))) {
                JsonNode done = second.awaitStatus(id, token, "succeeded");
                assertThat(done.get("metrics").get("loss").asDouble()).isEqualTo(0.025);
                assertThat(second.json("/api/v1/experiments/" + id + "/metrics/loss", token).get("total_points").asInt()).isEqualTo(40);
                String log = second.get("/api/v1/experiments/" + id + "/logs", token).body();
                for (int i = 1; i <= 40; i++) {
                    String line = "step=" + i + " loss=";
                    assertThat(log.indexOf(line)).as(line + " in\n" + log).isGreaterThanOrEqualTo(0);
                    assertThat(log.indexOf(line)).as(line + " once in\n" + log).isEqualTo(log.lastIndexOf(line));
                }
                assertThat(log).isEqualTo(Files.readString(runDir.resolve("logs/attempt-1.log")));
                // the agent got all of it home: what the server acknowledged is the whole journal and log
                Path home = runDir.resolve("home-1.json");
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> Files.exists(home)
                        && ServerProcess.JSON.readTree(Files.readString(home)).get("journal").asLong() == Files.size(journal));
                assertThat(ServerProcess.JSON.readTree(Files.readString(home)).get("log").asLong()).isEqualTo(Files.size(runDir.resolve("logs/attempt-1.log")));
            }
        }
    }

    @Test
    void aRunsTokenOnItsHostIsInNoFileAnotherUserCanReadAndInNoLogNorRecord() throws Exception {
        try (SshHosts hosts = SshHosts.start(1)) {
            Path remote = tmp.resolve("host");
            Path dir = tmp.resolve("server");
            Files.createDirectories(dir.resolve(".sortie"));
            Files.writeString(dir.resolve(".sortie/config.yaml"), "executors:\n" + SshHosts.executor("box", hosts.get(0), remote));
            Path out = tmp.resolve("run-token");
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            String runToken;
            try (ServerProcess server = ServerProcess.start(dir, Map.of("SORTIE_SSH_DIR", hosts.sshDir.toString()), client, "--workers", "1")) {
                String token = server.token("alice", false);
                String id = server.postJson("/api/v1/experiments", token, "{\"command\": [\"python3\", \"-c\", "
                        + ServerProcess.JSON.writeValueAsString("import os, sys; open(sys.argv[1], 'w').write(os.environ['SORTIE_TOKEN'])\nprint('loss=0.5')")
                        + ", \"" + out + "\"], \"executor\": \"box\"}", 201).get("id").asText();
                server.awaitStatus(id, token, "succeeded");
                runToken = Files.readString(out).strip();
                assertThat(runToken).startsWith("sortie_run_");
                assertThat(server.logsAndOutput()).doesNotContain(runToken);
            }
            // on the host: only the run file holds it (the agent needs it to report home), readable by this user alone
            List<Path> holding = filesHolding(remote, runToken);
            assertThat(holding).as("files on the host holding the run's token").isNotEmpty()
                    .allSatisfy(f -> assertThat(f.getFileName().toString()).matches("run-\\d+\\.json"));
            for (Path f : holding) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as(f.toString()).endsWith("------");
            }
            // nothing of the server's (its ledger, logs, store) holds it: its own record keeps a hash only
            assertThat(filesHolding(dir, runToken)).as("files of the server holding the run's token").isEmpty();
        }
    }

    private static List<Path> filesHolding(Path root, String text) throws java.io.IOException {
        byte[] needle = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).filter(f -> {
                try {
                    return new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1)
                            .contains(new String(needle, java.nio.charset.StandardCharsets.ISO_8859_1));
                } catch (java.io.IOException e) {
                    return false; // gone meanwhile (a temp file)
                }
            }).toList();
        }
    }

    static Path findRunDir(Path remote, String id) throws Exception {
        Path[] found = new Path[1];
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            try (Stream<Path> s = Files.walk(remote)) {
                found[0] = s.filter(p -> p.getFileName().toString().equals("journal-1.jsonl") && p.getParent().getFileName().toString().startsWith(id))
                        .map(Path::getParent).findFirst().orElse(null);
            }
            return found[0] != null;
        });
        return found[0];
    }
}
