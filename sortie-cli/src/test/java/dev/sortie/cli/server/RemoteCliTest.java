package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.cli.Main;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code sortie} commands pointed at a real {@code sortie server} process ({@code sortie login}, or SORTIE_SERVER
 * and SORTIE_TOKEN): each CLI call is a process of its own, as a user's is.
 */
class RemoteCliTest {
    @TempDir
    static Path tmp;
    @StartedServer(args = {"--workers", "2"})
    static ServerProcess server;
    @ServerToken("carol")
    static String token;

    static Path elsewhere() {
        return tmp.resolve("laptop");
    }

    @Test
    void loginChecksTheTokenKeepsItInAFileOnlyTheUserReadsAndNeverPrintsIt() throws Exception {
        Path credentials = tmp.resolve("home/.config/sortie/credentials");
        Map<String, String> env = Map.of("SORTIE_CREDENTIALS", credentials.toString());

        ServerProcess.Result bad = server.cli(elsewhere(), env, "not-a-token\n", "login", server.url, "--token-stdin");
        assertThat(bad.code()).as(bad.err()).isEqualTo(2);
        assertThat(bad.err()).contains(server.url, "sortie login").doesNotContain("not-a-token");
        assertThat(credentials).doesNotExist();

        ServerProcess.Result ok = server.cli(elsewhere(), env, token + "\n", "login", server.url + "/", "--token-stdin");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out() + ok.err()).contains("logged in to " + server.url).doesNotContain(token);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(credentials))).isEqualTo("rw-------");
        assertThat(Files.readString(credentials)).contains("token=" + token, "server=" + server.url.replace(":", "\\:"));

        // logged in: commands go to the server, from a folder that is no project at all
        server.cli(elsewhere(), server.remote(token), null, "run", "--queue", "-n", "after-login", "--", "sh", "-c", "echo hi");
        ServerProcess.Result shown = server.cli(elsewhere(), env, null, "show", "--columns", "name", "--filter", "name=after-login");
        assertThat(shown.code()).as(shown.err()).isZero();
        assertThat(shown.out()).contains("after-login");
        assertThat(elsewhere().resolve(".sortie")).doesNotExist();

        ServerProcess.Result out = server.cli(elsewhere(), env, null, "logout");
        assertThat(out.code()).isZero();
        assertThat(credentials).doesNotExist();
    }

    @Test
    void showThroughTheServerPrintsWhatShowPrintsOnTheServersOwnLedger() throws Exception {
        for (int i = 1; i <= 3; i++) {
            ServerProcess.Result q = server.cli(elsewhere(), server.remote(token), null, "run", "--queue", "-n", "same-" + i, "-S", "lr=0.0" + i, "--",
                    "sh", "-c", "echo loss=$(( 10 - $1 )) acc=0.$1; echo lr=$0", "${lr}", String.valueOf(i));
            assertThat(q.code()).as(q.err()).isZero();
            assertThat(q.err()).contains("queued 1 experiment", server.url);
        }
        for (int i = 1; i <= 3; i++) {
            server.awaitStatus("same-" + i, token, "succeeded");
        }
        for (String[] args : List.of(new String[] {"show", "--filter", "name~same-", "--json"},
                new String[] {"show", "--filter", "name~same-", "--sort-by", "loss", "--columns", "name,status,lr,loss,acc,exit_code"},
                new String[] {"show", "--filter", "name~same-", "--csv", "--columns", "id,name,executor,attempt,command,lr,loss"})) {
            ServerProcess.Result local = server.cli(server.dir, Map.of(), null, args);
            ServerProcess.Result viaServer = server.cli(elsewhere(), server.remote(token), null, args);
            assertThat(local.code()).as(local.err()).isZero();
            assertThat(viaServer.code()).as(viaServer.err()).isZero();
            assertThat(viaServer.out()).as(String.join(" ", args)).isEqualTo(local.out()).contains("same-3");
        }
    }

    /**
     * Sorts, filters, --limit and column choices worked out by the server's database print byte for byte what show
     * prints on the server's own ledger, and bad filters and columns fail the same way (exit 2, the same message).
     */
    @Test
    void showThroughTheServerSortsFiltersAndCutsOnTheServerAsShowDoesLocally() throws Exception {
        java.time.Instant t0 = java.time.Instant.parse("2026-01-02T03:04:05Z");
        try (dev.sortie.ledger.SqliteLedger ledger = dev.sortie.ledger.SqliteLedger.open(server.dir.resolve(".sortie/ledger.db"))) {
            String[] opts = {"sgd", "adam", "Adam", "adamw"};
            for (int i = 0; i < 14; i++) {
                Map<String, Object> params = new java.util.LinkedHashMap<>();
                if (i % 5 != 4) {
                    params.put("lr", Math.round((i * 7 % 10) * 0.1 * 10) / 10.0); // ties, and rows without lr
                }
                params.put("opt", opts[i % opts.length]);
                if (i % 3 != 2) {
                    params.put("flag", i % 2 == 0); // a boolean param
                }
                params.put("train", Map.of("bs", 16 << (i % 3))); // nested
                if (i % 6 == 1) {
                    params.put("acc", "n/a"); // a param named like a metric: the param's column
                }
                dev.sortie.core.model.ExperimentStatus st = i % 4 == 3 ? dev.sortie.core.model.ExperimentStatus.FAILED
                        : dev.sortie.core.model.ExperimentStatus.SUCCEEDED;
                java.time.Instant created = t0.plusSeconds(i / 2); // pairs created in the same second: ties kept in order
                ledger.insert(new dev.sortie.core.model.Experiment(String.format("cafe%04d", i), "cmp-" + (char) ('a' + (i * 5) % 14),
                        st, i % 3 == 0 ? "gpu" : "local", dev.sortie.core.model.CommandSpec.shell("python train.py"),
                        dev.sortie.core.params.Params.of(params), null, null, created, created.plusSeconds(1),
                        created.plusSeconds(2 + i % 4), st == dev.sortie.core.model.ExperimentStatus.FAILED ? 1 : 0, null, 1, null));
                if (i % 5 != 2) {
                    ledger.recordMetrics(String.format("cafe%04d", i), List.of(new dev.sortie.core.model.MetricPoint("loss", 3, (i * 3 % 8) / 8.0, t0),
                            new dev.sortie.core.model.MetricPoint("acc", 3, (i % 4) / 4.0, t0)));
                }
            }
        }
        String mine = "name~cmp-";
        List<String[]> cases = List.of(
                new String[] {"show", "--filter", mine},
                new String[] {"show", "--filter", mine, "--sort-by", "loss", "--sort-order", "desc", "--limit", "5"},
                new String[] {"show", "--filter", mine, "--sort-by", "lr", "--limit", "4", "--json"},
                new String[] {"show", "--filter", mine, "--filter", "flag=true", "--sort-by", "opt", "--csv"},
                new String[] {"show", "--filter", mine, "--filter", "flag!=true", "--sort-by", "flag", "--sort-order", "desc"},
                new String[] {"show", "--filter", mine, "--filter", "lr>=0.3", "--filter", "loss<0.5", "--sort-by", "train.bs", "--json"},
                new String[] {"show", "--filter", mine, "--filter", "opt~adam", "--sort-by", "name", "--columns", "name,opt,lr,acc,m:acc,loss"},
                new String[] {"show", "--filter", mine, "--filter", "acc=n/a", "--sort-by", "m:acc", "--sort-order", "desc", "--limit", "3", "--md"},
                new String[] {"show", "--filter", mine, "--sort-by", "exit_code", "--columns", "name,executor,exit_code,created,ended", "--limit", "6"});
        for (String[] args : cases) {
            ServerProcess.Result local = server.cli(server.dir, Map.of(), null, args);
            ServerProcess.Result viaServer = server.cli(elsewhere(), server.remote(token), null, args);
            assertThat(local.code()).as(String.join(" ", args) + ": " + local.err()).isZero();
            assertThat(viaServer.code()).as(viaServer.err()).isZero();
            assertThat(viaServer.out()).as(String.join(" ", args)).isEqualTo(local.out()).contains("cmp-");
        }
        for (String[] args : List.of(new String[] {"show", "--filter", "nosuch=1"}, new String[] {"show", "--filter", "loss<<0.3"},
                new String[] {"show", "--filter", "loss<abc"}, new String[] {"show", "--sort-by", "los"},
                new String[] {"show", "--filter", mine, "--columns", "name,nosuch"})) {
            ServerProcess.Result local = server.cli(server.dir, Map.of(), null, args);
            ServerProcess.Result viaServer = server.cli(elsewhere(), server.remote(token), null, args);
            assertThat(local.code()).as(String.join(" ", args) + ": " + local.err()).isEqualTo(2);
            assertThat(viaServer.code()).as(String.join(" ", args) + ": " + viaServer.err()).isEqualTo(2);
            assertThat(viaServer.err()).as(String.join(" ", args)).isEqualTo(local.err());
        }
        // only the page comes back: the names first, then the rows the database chose, cut to the chosen columns
        List<String> lines = server.get("/api/v1/table?sort=loss&order=desc&limit=2&filter=" + java.net.URLEncoder.encode(mine,
                StandardCharsets.UTF_8) + "&columns=name,loss", token).body().lines().toList();
        assertThat(lines).hasSize(3);
        JsonNode head = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(0));
        assertThat(head.path("columns").path("params").toString()).contains("\"lr\"", "\"train.bs\"", "\"flag\"");
        assertThat(head.path("total").asInt()).isEqualTo(14);
        JsonNode first = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(1));
        assertThat(first.path("name").asText()).startsWith("cmp-");
        assertThat(first.path("params").size()).isZero();
        assertThat(first.path("metrics").fieldNames()).toIterable().containsExactly("loss");
    }

    @Test
    void runQueuedThroughTheServerIsFollowedByLogsAndStopAndRetryGoThroughIt() throws Exception {
        ServerProcess.Result q = server.cli(elsewhere(), server.remote(token), null, "run", "--queue", "-n", "follow-me", "--",
                "sh", "-c", "echo first; sleep 2; echo second; exit 3");
        assertThat(q.code()).as(q.err()).isZero();
        ServerProcess.Result followed = server.cli(elsewhere(), server.remote(token), null, "logs", "-f", "follow-me");
        assertThat(followed.out()).isEqualTo("first\nsecond\n");
        assertThat(followed.code()).as("the run failed: logs -f ends with 1, as locally").isEqualTo(1);

        ServerProcess.Result retried = server.cli(elsewhere(), server.remote(token), null, "retry", "follow-me");
        assertThat(retried.code()).as(retried.err()).isZero();
        assertThat(retried.err()).contains("re-queued follow-me (attempt 2)");
        JsonNode again = server.awaitStatus("follow-me", token, "failed");
        assertThat(again.get("attempt").asInt()).isEqualTo(2);
        String[] attempts = {"show", "--attempts", "--filter", "name=follow-me", "--columns", "name,status,attempt,exit_code"};
        ServerProcess.Result localAttempts = server.cli(server.dir, Map.of(), null, attempts);
        assertThat(server.cli(elsewhere(), server.remote(token), null, attempts).out()).isEqualTo(localAttempts.out()).contains("attempt 1  failed");

        server.cli(elsewhere(), server.remote(token), null, "run", "--queue", "-n", "long-one", "--", "sh", "-c", "echo up; sleep 300");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(120)).pollInterval(java.time.Duration.ofMillis(200))
                .until(() -> server.get("/api/v1/experiments/long-one/logs", token).body().contains("up"));
        // Ctrl-C on 'logs -f' ends the follow (exit 0), not the run
        // SIGINT at its default, whatever the test run's own (a background job ignores it)
        List<String> cmd = new ArrayList<>(dev.sortie.cli.ChildJava.command());
        cmd.addAll(List.of("-cp", ServerProcess.classPath(), Main.class.getName(), "logs", "-f", "long-one"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(elsewhere().toFile());
        pb.environment().putAll(server.remote(token));
        Path followOut = tmp.resolve("follow.out");
        Path followErr = tmp.resolve("follow.err");
        Process follower = pb.redirectOutput(followOut.toFile()).redirectError(followErr.toFile()).start();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).pollInterval(java.time.Duration.ofMillis(100))
                .until(() -> Files.readString(followOut).contains("up"));
        new ProcessBuilder("kill", "-INT", String.valueOf(follower.pid())).start().waitFor();
        assertThat(follower.waitFor(30, TimeUnit.SECONDS)).as(Files.readString(followErr)).isTrue();
        assertThat(follower.exitValue()).as(Files.readString(followErr)).isZero();
        assertThat(Files.readString(followErr)).contains("stopped following long-one; it goes on on the server at " + server.url);
        assertThat(server.json("/api/v1/experiments/long-one", token).get("status").asText()).isEqualTo("running");

        ServerProcess.Result stopped = server.cli(elsewhere(), server.remote(token), null, "stop", "long-one");
        assertThat(stopped.code()).as(stopped.err()).isZero();
        assertThat(stopped.err()).contains("long-one stopped");
        assertThat(server.awaitStatus("long-one", token, "stopped").get("exit_code").isNull()).isFalse();

        // a foreground run through the server: queued there, followed here, its exit code
        ServerProcess.Result run = server.cli(elsewhere(), server.remote(token), null, "run", "-n", "in-front", "--", "sh", "-c", "echo in front");
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo("in front\n");
    }

    @Test
    void aServerThatIsDownIsExit3NamingItsUrlAndABadTokenExit2SayingToLogIn() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String down = "http://127.0.0.1:" + port;
        ServerProcess.Result r = server.cli(elsewhere(), Map.of("SORTIE_SERVER", down, "SORTIE_TOKEN", token), null, "show");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err()).contains("cannot reach the Sortie server at " + down).doesNotContain(token);

        String wrong = "wrong-" + token.substring(6);
        Map<String, String> env = new HashMap<>(Map.of("SORTIE_SERVER", server.url, "SORTIE_TOKEN", wrong));
        env.put("SORTIE_DEBUG", "1");
        for (String[] args : List.of(new String[] {"show"}, new String[] {"logs", "-f", "x"}, new String[] {"-vv", "stop", "x"})) {
            ServerProcess.Result refused = server.cli(elsewhere(), env, null, args);
            assertThat(refused.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(refused.err()).contains("refused the token", "sortie login " + server.url);
            assertThat(refused.out() + refused.err()).doesNotContain(wrong).doesNotContain(token);
        }
        assertThat(server.serverOutput()).doesNotContain(wrong).doesNotContain(token);
    }

    @Test
    void pushCopiesLocalExperimentsWithLogsMetricsAndArtifactsAndPushingAgainChangesNothing() throws Exception {
        Path project = tmp.resolve("pusher");
        for (int i = 1; i <= 2; i++) {
            ServerProcess.Result run = server.cli(project, Map.of(), null, "run", "-n", "local-" + i, "-S", "+lr=0." + i, "--", "sh", "-c",
                    "echo step=1 loss=0.9; echo step=2 loss=0.$0; echo model $0 > \"$SORTIE_ARTIFACT_DIR/model.txt\"", String.valueOf(i));
            assertThat(run.code()).as(run.err()).isZero();
        }
        String[] show = {"show", "--filter", "name~local-", "--columns", "id,name,status,executor,attempt,exit_code,lr,loss"};
        ServerProcess.Result local = server.cli(project, Map.of(), null, show);

        ServerProcess.Result first = server.cli(project, server.remote(token), null, "push");
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.err()).contains("[1/2] local-1", "[2/2] local-2", "2 new, 0 already there, 2 blobs sent").doesNotContain(token);
        ServerProcess.Result viaServer = server.cli(elsewhere(), server.remote(token), null, show);
        assertThat(viaServer.out()).isEqualTo(local.out()).contains("local-2");

        String id = server.json("/api/v1/experiments/local-2", token).get("id").asText();
        JsonNode before = server.json("/api/v1/experiments/" + id, token);
        assertThat(server.get("/api/v1/experiments/" + id + "/logs", token).body()).isEqualTo("step=1 loss=0.9\nstep=2 loss=0.2\n");
        assertThat(server.json("/api/v1/experiments/" + id + "/metrics/loss", token).get("total_points").asInt()).isEqualTo(2);
        JsonNode artifact = server.json("/api/v1/experiments/" + id + "/artifacts", token).get("artifacts").get(0);
        assertThat(server.get("/api/v1/experiments/" + id + "/artifacts/" + artifact.get("hash").asText(), token).body()).isEqualTo("model 2\n");

        ServerProcess.Result second = server.cli(project, server.remote(token), null, "push");
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.err()).contains("0 new, 2 already there, 0 blobs sent");
        assertThat(server.json("/api/v1/experiments/" + id, token)).isEqualTo(before);
        assertThat(server.json("/api/v1/experiments?filter=name~local-", token).get("total").asInt()).isEqualTo(2);
        assertThat(server.json("/api/v1/experiments/" + id + "/metrics/loss", token).get("total_points").asInt()).isEqualTo(2);

        ServerProcess.Result noLogin = server.cli(project, Map.of(), null, "push");
        assertThat(noLogin.code()).isEqualTo(2);
        assertThat(noLogin.err()).contains("sortie login");
    }

    @Test
    void diffPullAndQueueListGoThroughTheServer() throws Exception {
        for (int i = 1; i <= 2; i++) {
            // the server snapshots its own folder for each run it is sent: the two differ in this file
            Files.writeString(server.dir.resolve("model.py"), "depth = " + i + "\n");
            ServerProcess.Result q = server.cli(elsewhere(), server.remote(token), null, "run", "--queue", "-n", "cmp-" + i, "-S", "lr=0." + i, "--", "sh", "-c",
                    "echo loss=0.$1; mkdir -p \"$SORTIE_ARTIFACT_DIR/out\"; echo weights $1 > \"$SORTIE_ARTIFACT_DIR/out/w.txt\"; echo $0", "${lr}",
                    String.valueOf(i));
            assertThat(q.code()).as(q.err()).isZero();
        }
        server.awaitStatus("cmp-1", token, "succeeded");
        server.awaitStatus("cmp-2", token, "succeeded");
        for (String[] args : List.of(new String[] {"diff", "cmp-1", "cmp-2", "--no-code"}, new String[] {"diff", "cmp-1", "cmp-2", "--all", "--json"})) {
            ServerProcess.Result local = server.cli(server.dir, Map.of(), null, args);
            ServerProcess.Result viaServer = server.cli(elsewhere(), server.remote(token), null, args);
            assertThat(viaServer.code()).as(viaServer.err()).isZero();
            assertThat(viaServer.out()).isEqualTo(local.out()).contains("0.2");
        }
        // the code diff needs the snapshots, which are in the server's repository, not here: the server makes it
        ServerProcess.Result codeHere = server.cli(server.dir, Map.of(), null, "diff", "cmp-1", "cmp-2");
        ServerProcess.Result codeViaServer = server.cli(elsewhere(), server.remote(token), null, "diff", "cmp-1", "cmp-2");
        assertThat(codeViaServer.code()).as(codeViaServer.err()).isZero();
        assertThat(codeViaServer.err()).doesNotContain("git diff ");
        assertThat(codeViaServer.out()).isEqualTo(codeHere.out()).contains("code: cmp-1 (", "diff --git ", "-depth = 1", "+depth = 2");
        JsonNode noSnapshot = ServerProcess.JSON.readTree(server.get("/api/v1/experiments/cmp-1/code-diff/nosuch", token).body());
        assertThat(noSnapshot.get("error").asText()).contains("nosuch");

        Path into = tmp.resolve("pulled");
        ServerProcess.Result pulled = server.cli(elsewhere(), server.remote(token), null, "pull", "cmp-2", "--to", into.toString());
        assertThat(pulled.code()).as(pulled.err()).isZero();
        assertThat(pulled.out()).isEqualTo("artifact  .sortie/artifacts/out/w.txt\n");
        assertThat(into.resolve(".sortie/artifacts/out/w.txt")).hasContent("weights 2");

        ServerProcess.Result queue = server.cli(elsewhere(), server.remote(token), null, "queue", "list", "--json");
        assertThat(queue.code()).as(queue.err()).isZero();
        assertThat(ServerProcess.JSON.readTree(queue.out()).isArray()).isTrue();
    }
}
