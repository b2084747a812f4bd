package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The team server as users, the web UI and agents meet it: a real {@code sortie server} process per server, real
 * HTTP with the JDK's client, real runs on the server's local executor. One server drains the queue (runs go
 * through); another has no workers (what is queued stays queued, for the list and the reports).
 */
@Tag("integration")
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class ServerApiTest {
    @TempDir
    static Path tmp;
    static ServerProcess draining;
    static ServerProcess idle;
    static String token;
    static String idleToken;

    @BeforeAll
    static void startServers() throws Exception {
        draining = ServerProcess.start(tmp.resolve("draining"), "--workers", "2", "--store", tmp.resolve("store-elsewhere").toString());
        // executors the idle server lists (it starts no runs: no workers)
        Files.createDirectories(tmp.resolve("idle/.sortie"));
        Files.writeString(tmp.resolve("idle/.sortie/config.yaml"), "executors:\n  gpu1: {type: ssh, host: gpu1.example.invalid}\n"
                + "  gpus: {type: pool, hosts: [gpu1, {host: 10.0.0.9}]}\n");
        idle = ServerProcess.start(tmp.resolve("idle"), "--workers", "0");
        token = draining.token("alice", false);
        idleToken = idle.token("bob", false);
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (draining != null) {
            // graceful stop on SIGTERM: exit 0, said so
            assertThat(draining.stop()).as(draining.serverOutput()).isZero();
            assertThat(draining.serverOutput()).contains("sortie server: stopping");
        }
        if (idle != null) {
            idle.close();
        }
    }

    @Test
    void aTokenIsShownOnceListedWithoutItsTextRecordsItsUseAndIsRefusedOnceRevoked() throws Exception {
        String t = draining.token("carol", false);
        assertThat(t).startsWith("sortie_").hasSizeGreaterThan(40);
        assertThat(draining.get("/api/v1/queue", t).statusCode()).isEqualTo(200);

        ServerProcess.Result list = ServerProcess.sortie(draining.dir, "server", "token", "list", "--json");
        assertThat(list.code()).as(list.err()).isZero();
        JsonNode rows = ServerProcess.JSON.readTree(list.out());
        JsonNode carol = null;
        for (JsonNode r : rows) {
            if (r.get("name").asText().equals("carol")) {
                carol = r;
            }
        }
        assertThat(carol).as(list.out()).isNotNull();
        assertThat(carol.get("last_used").isNull()).as("last used is recorded: " + carol).isFalse();
        assertThat(list.out() + list.err()).doesNotContain(t);

        ServerProcess.Result revoked = ServerProcess.sortie(draining.dir, "server", "token", "revoke", "carol");
        assertThat(revoked.code()).as(revoked.err()).isZero();
        HttpResponse<String> refused = draining.get("/api/v1/queue", t);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(ServerProcess.JSON.readTree(refused.body()).get("error").asText()).contains("not valid");
        assertThat(ServerProcess.sortie(draining.dir, "server", "token", "revoke", "carol").code()).isNotZero();
        // never logged: not in the server's log or output, after being used, refused and revoked
        assertThat(draining.logsAndOutput()).doesNotContain(t).doesNotContain(t.substring(7));
    }

    @Test
    void everyRouteRefusesARequestWithoutAValidTokenAndAReadOnlyTokenEveryWrite() throws Exception {
        String readOnly = idle.token("reader", true);
        JsonNode routes = idle.json("/api/v1/routes", readOnly);
        List<String> checked = new ArrayList<>();
        Set<String> writes = Set.of("POST", "PUT", "PATCH", "DELETE");
        for (JsonNode r : routes) {
            String method = r.get("method").asText();
            String path = r.get("path").asText().replaceAll("\\{[^}]+}", "nosuch");
            if (path.equals("/api/v1/health")) {
                assertThat(idle.send(method, path, null, null).statusCode()).isEqualTo(200);
                continue;
            }
            String body = method.equals("GET") ? null : "{}";
            HttpResponse<String> none = idle.send(method, path, null, body);
            assertThat(none.statusCode()).as(method + " " + path + " without a token: " + none.body()).isEqualTo(401);
            assertThat(ServerProcess.JSON.readTree(none.body()).get("field").asText()).isEqualTo("Authorization");
            HttpResponse<String> bad = idle.send(method, path, "sortie_notatoken", body);
            assertThat(bad.statusCode()).as(method + " " + path + " with a bad token").isEqualTo(401);
            HttpResponse<String> wrongScheme = idle.send(method, path, null, body);
            assertThat(wrongScheme.statusCode()).isEqualTo(401);
            if (writes.contains(method)) {
                HttpResponse<String> ro = idle.send(method, path, readOnly, body);
                assertThat(ro.statusCode()).as(method + " " + path + " with a read-only token: " + ro.body()).isEqualTo(403);
            }
            checked.add(method + " " + path);
        }
        assertThat(checked).as("the walk saw the routes Javalin has").hasSizeGreaterThanOrEqualTo(12)
                .contains("GET /api/v1/experiments", "POST /api/v1/reports/nosuch", "POST /api/v1/experiments/nosuch/stop");
        // a path no route has under /api/ is refused before it is found missing: nothing is told to a caller without a token
        assertThat(idle.get("/api/v2/nothing", null).statusCode()).isEqualTo(401);
    }

    @Test
    void theExperimentsListPagesSortsByParamsAndMetricsAndFiltersWithShowsLanguage() throws Exception {
        List<String> ids = new ArrayList<>();
        double[] lrs = {0.5, 0.1, 0.4, 0.2, 0.3};
        for (int i = 0; i < lrs.length; i++) {
            JsonNode e = idle.postJson("/api/v1/experiments", idleToken,
                    "{\"command\": [\"true\"], \"name\": \"list-" + i + "\", \"params\": {\"lr\": " + lrs[i] + ", \"opt\": {\"name\": \"sgd\"}}}", 201);
            ids.add(e.get("id").asText());
            // loss grows with lr: the order by loss is the order by lr
            idle.postJson("/api/v1/reports/" + e.get("id").asText(), idleToken,
                    "{\"attempt\": 1, \"metrics\": [{\"key\": \"loss\", \"step\": 1, \"value\": " + (lrs[i] * 2) + "}]}", 200);
        }
        String f = "&filter=name~list-";
        JsonNode byLoss = idle.json("/api/v1/experiments?sort=metrics.loss&order=desc&limit=2" + f, idleToken);
        assertThat(byLoss.get("total").asInt()).isEqualTo(5);
        assertThat(names(byLoss)).containsExactly("list-0", "list-2");
        assertThat(byLoss.get("next_offset").asInt()).isEqualTo(2);
        JsonNode next = idle.json("/api/v1/experiments?sort=metrics.loss&order=desc&limit=2&cursor=2" + f, idleToken);
        assertThat(names(next)).containsExactly("list-4", "list-3");
        JsonNode last = idle.json("/api/v1/experiments?sort=metrics.loss&order=desc&limit=2&cursor=4" + f, idleToken);
        assertThat(names(last)).containsExactly("list-1");
        assertThat(last.get("next_offset").isNull()).isTrue();

        JsonNode byParam = idle.json("/api/v1/experiments?sort=params.lr" + f + "&filter=lr%3E%3D0.3&filter=opt.name=sgd", idleToken);
        assertThat(names(byParam)).containsExactly("list-4", "list-2", "list-0");
        assertThat(byParam.get("total").asInt()).isEqualTo(3);
        JsonNode lossBelow = idle.json("/api/v1/experiments?sort=lr" + f + "&filter=loss%3C0.5", idleToken);
        assertThat(names(lossBelow)).containsExactly("list-1", "list-3");

        JsonNode cols = idle.json("/api/v1/experiments?sort=name&limit=1&columns=name,params.lr,metrics.loss,status" + f, idleToken);
        JsonNode values = cols.get("experiments").get(0).get("values");
        assertThat(values.get("name").asText()).isEqualTo("list-0");
        assertThat(values.get("params.lr").asDouble()).isEqualTo(0.5);
        assertThat(values.get("metrics.loss").asDouble()).isEqualTo(1.0);
        assertThat(values.get("status").asText()).isEqualTo("queued");

        HttpResponse<String> badFilter = idle.get("/api/v1/experiments?filter=lr%3F%3F", idleToken);
        assertThat(badFilter.statusCode()).isEqualTo(400);
        assertThat(ServerProcess.JSON.readTree(badFilter.body()).get("field").asText()).isEqualTo("filter");
        HttpResponse<String> badLimit = idle.get("/api/v1/experiments?limit=-1", idleToken);
        assertThat(badLimit.statusCode()).isEqualTo(400);
        assertThat(ServerProcess.JSON.readTree(badLimit.body()).get("field").asText()).isEqualTo("limit");

        JsonNode executors = idle.json("/api/v1/executors", idleToken).get("executors");
        assertThat(executors.toString()).contains("\"name\":\"local\",\"type\":\"local\"");
        for (JsonNode x : executors) {
            if (x.get("name").asText().equals("gpus")) {
                assertThat(x.get("type").asText()).isEqualTo("pool");
                assertThat(x.get("hosts").toString()).isEqualTo("[\"gpu1\",\"10.0.0.9\"]");
            }
            if (x.get("name").asText().equals("gpu1")) {
                assertThat(x.get("hosts").toString()).isEqualTo("[\"gpu1.example.invalid\"]");
            }
        }
        assertThat(executors).hasSize(3);

        JsonNode queue = idle.json("/api/v1/queue", idleToken);
        assertThat(queue.get("queued").asInt()).isGreaterThanOrEqualTo(5);
    }

    private static List<String> names(JsonNode page) {
        List<String> out = new ArrayList<>();
        page.get("experiments").forEach(e -> out.add(e.get("name").asText()));
        return out;
    }

    @Test
    void aRunQueuedThroughTheApiRunsOnTheServerAndItsMetricsAndLogAreServed() throws Exception {
        JsonNode queued = draining.postJson("/api/v1/experiments", token,
                "{\"command\": [\"sh\", \"-c\", \"i=1; while [ $i -le 5 ]; do echo step=$i loss=$(( 10 - i )); i=$((i+1)); done; echo lr is $0\", \"${lr}\"],"
                        + " \"params\": {\"lr\": 0.25}, \"name\": \"web-1\"}", 201);
        String id = queued.get("id").asText();
        assertThat(queued.get("status").asText()).isEqualTo("queued");
        JsonNode done = draining.awaitStatus(id, token, "succeeded");
        assertThat(done.get("metrics").get("loss").asDouble()).isEqualTo(5.0);
        assertThat(done.get("params").get("lr").asDouble()).isEqualTo(0.25);
        assertThat(done.get("attempts")).hasSize(1);
        assertThat(done.get("where").get("executor").asText()).isEqualTo("local");
        // the column the list sorts by as 'duration' is given under that name too (it was null: the field is duration_s)
        JsonNode withDuration = draining.json("/api/v1/experiments?columns=name,duration", token);
        boolean found = false;
        for (JsonNode row : withDuration.get("experiments")) {
            if (row.get("id").asText().equals(id)) {
                assertThat(row.get("values").get("duration").isNumber()).as(row.toString()).isTrue();
                found = true;
            }
        }
        assertThat(found).isTrue();

        JsonNode series = draining.json("/api/v1/experiments/" + id + "/metrics/loss", token);
        assertThat(series.get("total_points").asInt()).isEqualTo(5);
        assertThat(series.get("points").get(0).get("step").asLong()).isEqualTo(1);

        HttpResponse<String> log = draining.get("/api/v1/experiments/" + id + "/logs", token);
        assertThat(log.statusCode()).isEqualTo(200);
        assertThat(log.body()).contains("step=1 loss=9", "step=5 loss=5", "lr is 0.25");
        assertThat(log.headers().firstValue("X-Sortie-Finished")).hasValue("true");
        long size = Long.parseLong(log.headers().firstValue("X-Sortie-Next-Offset").orElseThrow());
        assertThat(size).isEqualTo(log.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        HttpResponse<String> rest = draining.get("/api/v1/experiments/" + id + "/logs?offset=" + (size - 8), token);
        assertThat(rest.body()).isEqualTo(log.body().substring(log.body().length() - 8));

        // the web run: a copy with an edited param, queued and run on the server
        JsonNode copy = draining.postJson("/api/v1/experiments", token, "{\"from\": \"" + id + "\", \"params\": {\"lr\": 0.5}}", 201);
        JsonNode copyDone = draining.awaitStatus(copy.get("id").asText(), token, "succeeded");
        assertThat(copyDone.get("params").get("lr").asDouble()).isEqualTo(0.5);
        assertThat(draining.get("/api/v1/experiments/" + copy.get("id").asText() + "/logs", token).body()).contains("lr is 0.5");
        HttpResponse<String> unknownParam = draining.post("/api/v1/experiments", token, "{\"from\": \"" + id + "\", \"params\": {\"momentum\": 0.9}}");
        assertThat(unknownParam.statusCode()).isEqualTo(400);
        assertThat(unknownParam.body()).contains("unknown param 'momentum'");

        // retry: the same experiment's next attempt, through the queue
        JsonNode retried = draining.postJson("/api/v1/experiments/" + id + "/retry", token, "{}", 200);
        assertThat(retried.get("attempt").asInt()).isEqualTo(2);
        assertThat(draining.awaitStatus(id, token, "succeeded").get("attempt").asInt()).isEqualTo(2);
    }

    @Test
    void aRunsArtifactsAreListedAndDownloadedFromTheStoreTheServerWasGiven() throws Exception {
        String task = "name: arts\nrun: mkdir -p out && printf 'model %s\\n' ${lr} > out/model.txt\nparams: {lr: 0.1}\nartifacts: [out/model.txt]\n";
        String id = draining.postJson("/api/v1/experiments", token, "{\"task\": " + ServerProcess.JSON.writeValueAsString(task)
                + ", \"params\": {\"lr\": 0.7}}", 201).get("id").asText();
        draining.awaitStatus(id, token, "succeeded");
        JsonNode arts = draining.json("/api/v1/experiments/" + id + "/artifacts", token).get("artifacts");
        assertThat(arts).hasSize(1);
        assertThat(arts.get(0).get("path").asText()).endsWith("model.txt");
        assertThat(arts.get(0).get("kind").asText()).isEqualTo("artifact");
        String hash = arts.get(0).get("hash").asText();
        HttpResponse<String> file = draining.get("/api/v1/experiments/" + id + "/artifacts/" + hash, token);
        assertThat(file.statusCode()).isEqualTo(200);
        assertThat(file.body()).isEqualTo("model 0.7\n");
        assertThat(file.headers().firstValue("Content-Disposition").orElse("")).contains("model.txt");
        // the blob is in the store --store named, not the server folder's own
        try (java.util.stream.Stream<Path> blobs = Files.walk(tmp.resolve("store-elsewhere"))) {
            assertThat(blobs.filter(Files::isRegularFile).count()).isPositive();
        }
        // only what the experiment saved is served
        assertThat(draining.get("/api/v1/experiments/" + id + "/artifacts/" + "0".repeat(64), token).statusCode()).isEqualTo(404);
    }

    @Test
    void followingTheLogReturnsALineAsTheRunWritesIt() throws Exception {
        Path gate = tmp.resolve("gate");
        JsonNode queued = draining.postJson("/api/v1/experiments", token,
                "{\"command\": [\"sh\", \"-c\", \"echo first; while [ ! -e \\\"$0\\\" ]; do sleep 0.05; done; echo second\", \"" + gate + "\"]}", 201);
        String id = queued.get("id").asText();
        long[] offset = new long[1];
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
            HttpResponse<String> r = draining.get("/api/v1/experiments/" + id + "/logs", token);
            offset[0] = Long.parseLong(r.headers().firstValue("X-Sortie-Next-Offset").orElse("0"));
            return r.body().contains("first\n");
        });
        CompletableFuture<HttpResponse<String>> follow = CompletableFuture.supplyAsync(() -> {
            try {
                return draining.get("/api/v1/experiments/" + id + "/logs?follow=true&wait=60&offset=" + offset[0], token);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // the run waits for the gate: nothing new to return yet, so the request is held open
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> !follow.isDone());
        Files.writeString(gate, "");
        HttpResponse<String> r = follow.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.body()).isEqualTo("second\n");
        draining.awaitStatus(id, token, "succeeded");
    }

    /** A series longer than the points asked for is served from the ledger's rollups: cut, its spike and dip kept. */
    @Test
    void aLongSeriesIsServedCutFromItsRollupsWithItsExtremes() throws Exception {
        String id = idle.postJson("/api/v1/experiments", idleToken, "{\"command\": [\"true\"]}", 201).get("id").asText();
        StringBuilder metrics = new StringBuilder();
        for (int step = 0; step < 3000; step++) {
            double v = step == 1234 ? 50 : step == 2345 ? -40 : Math.sin(step / 100.0);
            metrics.append(step == 0 ? "" : ", ").append("{\"key\": \"loss\", \"step\": ").append(step).append(", \"value\": ").append(v).append('}');
        }
        idle.postJson("/api/v1/reports/" + id, idleToken, "{\"attempt\": 1, \"state\": \"running\", \"metrics\": [" + metrics + "]}", 200);

        JsonNode cut = idle.json("/api/v1/experiments/" + id + "/metrics/loss?points=100", idleToken);
        assertThat(cut.get("total_points").asInt()).isEqualTo(3000);
        assertThat(cut.get("downsampled").asBoolean()).isTrue();
        List<Long> steps = new java.util.ArrayList<>();
        List<Double> values = new java.util.ArrayList<>();
        cut.get("points").forEach(p -> {
            steps.add(p.get("step").asLong());
            values.add(p.get("value").asDouble());
        });
        assertThat(steps).hasSizeLessThanOrEqualTo(100).hasSizeGreaterThan(50).isSorted().contains(0L, 1234L, 2345L, 2999L);
        assertThat(values).contains(50.0, -40.0);
        JsonNode all = idle.json("/api/v1/experiments/" + id + "/metrics/loss?points=5000", idleToken);
        assertThat(all.get("points")).hasSize(3000);
        assertThat(all.get("downsampled").asBoolean()).isFalse();
        JsonNode compared = idle.json("/api/v1/series?key=loss&buckets=10&experiments=" + id, idleToken);
        assertThat(compared.get("series").get(0).get("total_points").asInt()).isEqualTo(3000);
        assertThat(compared.get("series").get(0).get("values").toString()).contains("50.0", "-40.0");
    }

    @Test
    void aReportSentTwiceCountsOnceAndAnOverlappingResendAddsOnlyWhatIsNew() throws Exception {
        String id = idle.postJson("/api/v1/experiments", idleToken, "{\"command\": [\"true\"]}", 201).get("id").asText();
        String report = "{\"attempt\": 1, \"state\": \"running\", \"logs\": [{\"offset\": 0, \"text\": \"epoch 1\\n\"}],"
                + " \"metrics\": [{\"key\": \"loss\", \"step\": 1, \"value\": 0.9}, {\"key\": \"loss\", \"step\": 2, \"value\": 0.7}],"
                + " \"system\": [{\"key\": \"gpu_util\", \"value\": 93.5, \"time\": \"2026-01-01T00:00:00Z\"}]}";
        JsonNode first = idle.postJson("/api/v1/reports/" + id, idleToken, report, 200);
        JsonNode again = idle.postJson("/api/v1/reports/" + id, idleToken, report, 200);
        assertThat(first.get("log_size").asLong()).isEqualTo(8);
        assertThat(again.get("log_size").asLong()).isEqualTo(8);
        assertThat(idle.get("/api/v1/experiments/" + id + "/logs", idleToken).body()).isEqualTo("epoch 1\n");
        assertThat(idle.json("/api/v1/experiments/" + id + "/metrics/loss", idleToken).get("total_points").asInt()).isEqualTo(2);
        assertThat(idle.json("/api/v1/experiments/" + id + "/metrics/sys%2Fgpu_util", idleToken).get("total_points").asInt()).isEqualTo(1);

        // the agent resends from an older offset with more behind it: the overlap is not written twice
        idle.postJson("/api/v1/reports/" + id, idleToken,
                "{\"attempt\": 1, \"logs\": [{\"offset\": 0, \"text\": \"epoch 1\\nepoch 2\\n\"}, {\"offset\": 16, \"text\": \"epoch 3\\n\"}]}", 200);
        assertThat(idle.get("/api/v1/experiments/" + id + "/logs", idleToken).body()).isEqualTo("epoch 1\nepoch 2\nepoch 3\n");
        // a chunk past the end would leave a hole: refused with where to send from
        HttpResponse<String> gap = idle.post("/api/v1/reports/" + id, idleToken, "{\"attempt\": 1, \"logs\": [{\"offset\": 100, \"text\": \"x\"}]}");
        assertThat(gap.statusCode()).isEqualTo(409);
        assertThat(ServerProcess.JSON.readTree(gap.body()).get("log_size").asLong()).isEqualTo(24);
    }

    @Test
    void anEndReportedByTheAgentIsRecordedOnceAndStands() throws Exception {
        Path gate = tmp.resolve("end-gate");
        String id = draining.postJson("/api/v1/experiments", token, "{\"command\": [\"sh\", \"-c\", \"echo up; while [ ! -e \\\"$0\\\" ];"
                + " do sleep 0.05; done\", \"" + gate + "\"], \"executor\": \"local\"}", 201).get("id").asText();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .until(() -> draining.json("/api/v1/experiments/" + id, token).get("status").asText().equals("running"));
        String end = "{\"attempt\": 1, \"state\": \"failed\", \"exit_code\": 3, \"error\": \"out of memory\"}";
        JsonNode first = draining.postJson("/api/v1/reports/" + id, token, end, 200);
        assertThat(first.get("status").asText()).isEqualTo("failed");
        JsonNode recorded = draining.json("/api/v1/experiments/" + id, token);
        String endedAt = recorded.get("ended").asText();
        assertThat(recorded.get("exit_code").asInt()).isEqualTo(3);
        assertThat(recorded.get("error").asText()).isEqualTo("out of memory");
        // sent again: nothing changes, not even the time of the end
        assertThat(draining.postJson("/api/v1/reports/" + id, token, end, 200).get("status").asText()).isEqualTo("failed");
        assertThat(draining.json("/api/v1/experiments/" + id, token).get("ended").asText()).isEqualTo(endedAt);
        // a different end afterwards does not replace the first
        assertThat(draining.postJson("/api/v1/reports/" + id, token, "{\"attempt\": 1, \"state\": \"succeeded\", \"exit_code\": 0}", 200)
                .get("status").asText()).isEqualTo("failed");
        Files.writeString(gate, "");
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                .until(() -> draining.json("/api/v1/experiments/" + id, token).get("status").asText().equals("failed"));
    }

    @Test
    void stopEndsARunningRunThroughTheApi() throws Exception {
        Path marker = tmp.resolve("stop-marker");
        String id = draining.postJson("/api/v1/experiments", token, "{\"command\": [\"sh\", \"-c\", \"echo up; sleep 300; touch \\\"$0\\\"\", \""
                + marker + "\"], \"executor\": \"local\"}", 201).get("id").asText();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .until(() -> draining.get("/api/v1/experiments/" + id + "/logs", token).body().contains("up"));
        JsonNode stopped = draining.postJson("/api/v1/experiments/" + id + "/stop", token, "{}", 200);
        assertThat(stopped.get("status").asText()).isEqualTo("stopped");
        assertThat(draining.awaitStatus(id, token, "stopped").get("ended").isNull()).isFalse();
        assertThat(marker).doesNotExist();
        // a stop sent again (a double click) changes nothing
        JsonNode again = draining.postJson("/api/v1/experiments/" + id + "/stop", token, "{}", 200);
        assertThat(again.get("status").asText()).isEqualTo("stopped");
        assertThat(again.get("ended").asText()).isEqualTo(draining.json("/api/v1/experiments/" + id, token).get("ended").asText());
        assertThat(draining.post("/api/v1/experiments/nosuch/stop", token, "{}").statusCode()).isEqualTo(404);
    }

    @Test
    void aMalformedReportIsRefusedNamingTheFieldAndNothingOfItIsKept() throws Exception {
        String id = idle.postJson("/api/v1/experiments", idleToken, "{\"command\": [\"true\"]}", 201).get("id").asText();
        String bad = "{\"attempt\": 1, \"logs\": [{\"offset\": 0, \"text\": \"kept?\\n\"}],"
                + " \"metrics\": [{\"key\": \"loss\", \"step\": 1, \"value\": 0.5}, {\"key\": \"loss\", \"step\": 2, \"value\": \"high\"}]}";
        HttpResponse<String> r = idle.post("/api/v1/reports/" + id, idleToken, bad);
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode err = ServerProcess.JSON.readTree(r.body());
        assertThat(err.get("field").asText()).isEqualTo("metrics[1].value");
        assertThat(err.get("error").asText()).contains("must be a number");
        assertThat(idle.get("/api/v1/experiments/" + id + "/logs", idleToken).body()).isEmpty();
        assertThat(idle.json("/api/v1/experiments/" + id + "/metrics/loss", idleToken).get("total_points").asInt()).isZero();

        for (String[] c : new String[][] {
                {"not json", "body"},
                {"{\"logs\": []}", "attempt"},
                {"{\"attempt\": 1, \"state\": \"exploded\"}", "state"},
                {"{\"attempt\": 1, \"logs\": [{\"offset\": -1, \"text\": \"x\"}]}", "logs[0].offset"},
                {"{\"attempt\": 1, \"metrics\": [{\"key\": \"loss\", \"value\": 1}]}", "metrics[0].step"},
                {"{\"attempt\": 1, \"system\": [{\"key\": \"cpu\", \"value\": 1}]}", "system[0].time"},
                {"{\"attempt\": 1, \"extra\": 1}", "extra"},
                {"{\"attempt\": 7}", "attempt"}}) {
            HttpResponse<String> refused = idle.post("/api/v1/reports/" + id, idleToken, c[0]);
            assertThat(refused.statusCode()).as(c[0] + ": " + refused.body()).isEqualTo(400);
            assertThat(ServerProcess.JSON.readTree(refused.body()).get("field").asText()).as(c[0]).isEqualTo(c[1]);
        }
        // too large a body: 413, and the server goes on
        String huge = "{\"attempt\": 1, \"logs\": [{\"offset\": 0, \"text\": \"" + "x".repeat(33 << 20) + "\"}]}";
        HttpResponse<String> tooLarge = idle.post("/api/v1/reports/" + id, idleToken, huge);
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(ServerProcess.JSON.readTree(tooLarge.body()).get("error").asText()).contains("32 MiB");
        assertThat(idle.get("/api/v1/experiments/" + id + "/logs", idleToken).body()).isEmpty();
        // the server goes on: a good report is recorded
        idle.postJson("/api/v1/reports/" + id, idleToken, "{\"attempt\": 1, \"metrics\": [{\"key\": \"loss\", \"step\": 1, \"value\": 0.5}]}", 200);
        assertThat(idle.json("/api/v1/experiments/" + id + "/metrics/loss", idleToken).get("total_points").asInt()).isEqualTo(1);
        assertThat(idle.postJson("/api/v1/reports/nosuch", idleToken, "{\"attempt\": 1}", 404).get("error").asText()).contains("nosuch");
    }

    @Test
    void aWebRunOfATaskWhoseParamsLiveInAParamsFileRunsWithTheEditedValuesInThatFile() throws Exception {
        // the task reads its params from a file of the server's folder (not params.yaml: other tests' tasks would find it)
        Files.writeString(draining.dir.resolve("hp.yaml"), "# learning rate, tuned by hand\nlr: 0.10\nepochs: 3  # enough\n");
        String task = "name: pfile\nrun: cat hp.yaml\nparams: hp.yaml\n";
        JsonNode first = draining.postJson("/api/v1/experiments", token, "{\"task\": " + ServerProcess.JSON.writeValueAsString(task) + "}", 201);
        String id = first.get("id").asText();
        draining.awaitStatus(id, token, "succeeded");
        assertThat(draining.get("/api/v1/experiments/" + id + "/logs", token).body()).contains("lr: 0.10");
        // the web run: clone it with lr edited; the run reads the file, which must hold the new value
        JsonNode copy = draining.postJson("/api/v1/experiments", token, "{\"from\": \"" + id + "\", \"params\": {\"lr\": 0.5}}", 201);
        String copyId = copy.get("id").asText();
        draining.awaitStatus(copyId, token, "succeeded");
        assertThat(draining.get("/api/v1/experiments/" + copyId + "/logs", token).body())
                .as("the copy's file: its edited value, the rest of the source's file as it was")
                .isEqualTo("# learning rate, tuned by hand\nlr: 0.5\nepochs: 3  # enough\n");
        // a copy of the copy, editing the other param: both edits stand
        JsonNode again = draining.postJson("/api/v1/experiments", token, "{\"from\": \"" + copyId + "\", \"params\": {\"epochs\": 7}}", 201);
        draining.awaitStatus(again.get("id").asText(), token, "succeeded");
        assertThat(draining.get("/api/v1/experiments/" + again.get("id").asText() + "/logs", token).body())
                .isEqualTo("# learning rate, tuned by hand\nlr: 0.5\nepochs: 7  # enough\n");
        // the source itself, retried, still reads its own values
        draining.postJson("/api/v1/experiments/" + id + "/retry", token, "{}", 200);
        draining.awaitStatus(id, token, "succeeded");
        assertThat(draining.get("/api/v1/experiments/" + id + "/logs?attempt=2", token).body()).contains("lr: 0.10", "epochs: 3");
    }

    @Test
    void paramsAndNamesFromARequestStayData() throws Exception {
        Path pwned = tmp.resolve("pwned");
        String hostile = "$(touch " + pwned + "); `touch " + pwned + "`; touch " + pwned;
        JsonNode queued = draining.postJson("/api/v1/experiments", token,
                "{\"command\": [\"sh\", \"-c\", \"printf 'got:%s\\\\n' \\\"$0\\\"\", \"${p}\"], \"params\": {\"p\": "
                        + ServerProcess.JSON.writeValueAsString(hostile) + "}}", 201);
        String id = queued.get("id").asText();
        draining.awaitStatus(id, token, "succeeded");
        assertThat(draining.get("/api/v1/experiments/" + id + "/logs", token).body()).isEqualTo("got:" + hostile + "\n");
        assertThat(pwned).doesNotExist();

        // a copy whose param is edited to shell code: still one argument, printed as it is
        JsonNode copy = draining.postJson("/api/v1/experiments", token,
                "{\"from\": \"" + id + "\", \"params\": {\"p\": " + ServerProcess.JSON.writeValueAsString("x'; touch " + pwned + "; '") + "}}", 201);
        draining.awaitStatus(copy.get("id").asText(), token, "succeeded");
        assertThat(pwned).doesNotExist();

        // a task's shell line: the param is a quoted variable there, not spliced text
        String task = "name: shell-task\nrun: printf 'got:%s\\n' ${p}\nparams: {p: safe}\n";
        JsonNode fromTask = draining.postJson("/api/v1/experiments", token, "{\"task\": " + ServerProcess.JSON.writeValueAsString(task)
                + ", \"params\": {\"p\": " + ServerProcess.JSON.writeValueAsString(hostile) + "}}", 201);
        assertThat(fromTask.get("name").asText()).startsWith("shell-task-");
        draining.awaitStatus(fromTask.get("id").asText(), token, "succeeded");
        assertThat(draining.get("/api/v1/experiments/" + fromTask.get("id").asText() + "/logs", token).body()).isEqualTo("got:" + hostile + "\n");
        assertThat(pwned).doesNotExist();
        HttpResponse<String> badTask = draining.post("/api/v1/experiments", token,
                "{\"task\": \"name: t\\nrun: echo\\nresources: {gpu: 1}\\n\"}");
        assertThat(badTask.statusCode()).as(badTask.body()).isEqualTo(400);
        assertThat(ServerProcess.JSON.readTree(badTask.body()).get("field").asText()).isEqualTo("task");
        assertThat(ServerProcess.JSON.readTree(badTask.body()).get("error").asText()).contains("resources.gpu").contains("gpus");
        HttpResponse<String> unknownTaskParam = draining.post("/api/v1/experiments", token,
                "{\"task\": " + ServerProcess.JSON.writeValueAsString(task) + ", \"params\": {\"q\": 1}}");
        assertThat(unknownTaskParam.statusCode()).isEqualTo(400);

        for (String name : List.of("a; rm -rf /", "../etc", "$(id)", "beef")) {
            HttpResponse<String> r = draining.post("/api/v1/experiments", token,
                    "{\"command\": [\"true\"], \"name\": " + ServerProcess.JSON.writeValueAsString(name) + "}");
            assertThat(r.statusCode()).as(name + ": " + r.body()).isEqualTo(400);
        }
        HttpResponse<String> badKey = draining.post("/api/v1/experiments", token, "{\"command\": [\"true\"], \"params\": {\"a b\": 1}}");
        assertThat(badKey.statusCode()).isEqualTo(400);
        assertThat(ServerProcess.JSON.readTree(badKey.body()).get("field").asText()).isEqualTo("params.a b");
        HttpResponse<String> listParam = draining.post("/api/v1/experiments", token, "{\"command\": [\"true\"], \"params\": {\"a\": [1]}}");
        assertThat(listParam.statusCode()).isEqualTo(400);
        HttpResponse<String> shellString = draining.post("/api/v1/experiments", token, "{\"command\": \"rm -rf /\"}");
        assertThat(shellString.statusCode()).isEqualTo(400);
        assertThat(ServerProcess.JSON.readTree(shellString.body()).get("field").asText()).isEqualTo("command");
    }
}
