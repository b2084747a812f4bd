package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sortie status}, {@code queue start|stop|remove}, {@code remove} and {@code plots} pointed at a real
 * {@code sortie server} process: the same output and exit codes as the same commands on the server's own ledger.
 */
@Tag("integration")
class RemoteControlCliTest {
    @TempDir
    static Path tmp;
    @StartedServer(args = {"--workers", "2"})
    static ServerProcess server;
    @ServerToken("dave")
    static String token;

    static Path laptop() {
        return tmp.resolve("laptop");
    }

    @Test
    void statusAndPlotsThroughTheServerSayWhatTheyDoOnItsLedger() throws Exception {
        ServerProcess.Result q = server.cli(laptop(), server.remote(token), null, "run", "--queue", "-n", "plotted", "--", "sh", "-c",
                "for i in 1 2 3 4; do echo step=$i loss=0.$((9 - i)) acc=0.$i; done");
        assertThat(q.code()).as(q.err()).isZero();
        server.cli(laptop(), server.remote(token), null, "run", "--queue", "-n", "sleeper", "--", "sh", "-c", "echo step=1 loss=0.5; sleep 300");
        server.awaitStatus("plotted", token, "succeeded");
        server.awaitStatus("sleeper", token, "running");
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> server.json("/api/v1/experiments/sleeper", token).path("metrics").has("loss"));

        ServerProcess.Result local = server.cli(server.dir, Map.of(), null, "status", "--json");
        ServerProcess.Result viaServer = server.cli(laptop(), server.remote(token), null, "status", "--json");
        assertThat(viaServer.code()).as(viaServer.err()).isZero();
        JsonNode remoteDoc = ServerProcess.JSON.readTree(viaServer.out());
        // 2 at a time as the server was started, or 3 after the queue test's 'queue start -j 3'
        assertThat(remoteDoc.get("workers").toString()).contains("\"executor\":\"local\"", "\"draining\":false").containsPattern("\"jobs\":[23]");
        ((ObjectNode) remoteDoc).remove("workers");
        JsonNode localDoc = ServerProcess.JSON.readTree(local.out());
        // the running sleeper's system samples (sys/cpu_percent...) keep arriving between the two calls, and the
        // first of them may land between them: they are the values of their moment, left out of the comparison
        assertThat(withoutSysMetrics(remoteDoc)).isEqualTo(withoutSysMetrics(localDoc));
        assertThat(remoteDoc.get("experiments").get(0).get("name").asText()).isEqualTo("sleeper");
        assertThat(remoteDoc.get("experiments").get(0).get("pid").asLong()).isPositive();

        ServerProcess.Result text = server.cli(laptop(), server.remote(token), null, "status");
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.err()).doesNotContain("does not go through the server");
        assertThat(text.out()).contains("sleeper", "running", "loss=0.5", "this machine", "busy", "queue workers of " + server.url + ": local (")
                .containsPattern("local \\([23] at a time\\)");

        // plots: the same file through the server as from the server's own ledger
        Path localHtml = tmp.resolve("local.html");
        Path remoteHtml = tmp.resolve("remote.html");
        ServerProcess.Result localPlots = server.cli(server.dir, Map.of(), null, "plots", "plotted", "-o", localHtml.toString());
        ServerProcess.Result remotePlots = server.cli(laptop(), server.remote(token), null, "plots", "plotted", "-o", remoteHtml.toString());
        assertThat(remotePlots.code()).as(remotePlots.err()).isZero();
        assertThat(remotePlots.err()).isEqualTo(localPlots.err().replace(localHtml.toString(), remoteHtml.toString()))
                .contains("wrote 2 charts of 1 experiment");
        assertThat(Files.readString(remoteHtml)).isEqualTo(Files.readString(localHtml));

        // remove: a running one is refused as locally (exit 2); --force stops it first; the log goes with it
        ServerProcess.Result refused = server.cli(laptop(), server.remote(token), null, "remove", "sleeper");
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err()).contains("'sleeper' is running; stop it first");
        ServerProcess.Result forced = server.cli(laptop(), server.remote(token), null, "remove", "--force", "sleeper", "plotted");
        assertThat(forced.code()).as(forced.err()).isZero();
        assertThat(forced.err()).contains("removed sleeper (", "removed plotted (");
        assertThat(server.get("/api/v1/experiments/sleeper", token).statusCode()).isEqualTo(404);
        assertThat(server.get("/api/v1/experiments/plotted", token).statusCode()).isEqualTo(404);
        ServerProcess.Result gone = server.cli(laptop(), server.remote(token), null, "remove", "plotted");
        assertThat(gone.code()).isEqualTo(2);
    }

    @Test
    void queueStopAndStartTellTheServersWorkersAndQueueRemoveTakesOutOfItsQueue() throws Exception {
        ServerProcess.Result stop = server.cli(laptop(), server.remote(token), null, "queue", "stop");
        assertThat(stop.code()).as(stop.err()).isZero();
        assertThat(stop.err()).contains("workers start no more experiments", "on the server at " + server.url);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> server.json("/api/v1/status", token).get("workers").get(0).get("draining").asBoolean());

        for (String name : new String[] {"waits-1", "waits-2"}) {
            assertThat(server.cli(laptop(), server.remote(token), null, "run", "--queue", "-n", name, "--", "sh", "-c", "echo ran").code()).isZero();
        }
        ServerProcess.Result removed = server.cli(laptop(), server.remote(token), null, "queue", "remove", "waits-2");
        assertThat(removed.code()).as(removed.err()).isZero();
        assertThat(removed.err()).contains("removed 1 queued experiment");
        assertThat(server.get("/api/v1/experiments/waits-2", token).statusCode()).isEqualTo(404);
        // stopped workers claimed nothing
        assertThat(server.json("/api/v1/experiments/waits-1", token).get("status").asText()).isEqualTo("queued");

        ServerProcess.Result start = server.cli(laptop(), server.remote(token), null, "queue", "start", "-j", "3");
        assertThat(start.code()).as(start.err()).isZero();
        assertThat(start.err()).contains("the server at " + server.url + " drains the queue with its workers: local (3 at a time)");
        server.awaitStatus("waits-1", token, "succeeded");
        assertThat(server.json("/api/v1/status", token).get("workers").get(0).get("jobs").asInt()).isEqualTo(3);

        ServerProcess.Result notQueued = server.cli(laptop(), server.remote(token), null, "queue", "remove", "waits-1");
        assertThat(notQueued.code()).isEqualTo(2);
        assertThat(notQueued.err()).contains("waits-1 is not queued (succeeded)");

        ServerProcess.Result unknown = server.cli(laptop(), server.remote(token), null, "queue", "start", "-e", "nosuch");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("no executor 'nosuch' on this server");

        String readOnly = server.token("reader", true);
        ServerProcess.Result ro = server.cli(laptop(), Map.of("SORTIE_SERVER", server.url, "SORTIE_TOKEN", readOnly), null, "queue", "stop");
        assertThat(ro.code()).isEqualTo(2);
        assertThat(ro.err()).contains("read-only token");
    }

    @Test
    void aBlobOver32MiBIsPushedInPartsAndAPushWhoseConnectionIsCutMidBlobGoesOnFromWhereItStopped() throws Exception {
        Path project = tmp.resolve("big-pusher");
        byte[] bytes = new byte[40 << 20];
        new java.util.Random(12).nextBytes(bytes);
        Path source = Files.write(tmp.resolve("big.bin"), bytes);
        ServerProcess.Result run = server.cli(project, Map.of(), null, "run", "-n", "big-blob", "--", "sh", "-c",
                "cp \"$0\" \"$SORTIE_ARTIFACT_DIR/big.bin\"; echo step=1 loss=0.5", source.toString());
        assertThat(run.code()).as(run.err()).isZero();

        // the push's connection is cut after 20 MiB of what it sends: mid-blob (parts of 8 MiB)
        try (CuttingProxy proxy = new CuttingProxy(java.net.URI.create(server.url).getPort(), 20L << 20)) {
            ServerProcess.Result cut = server.cli(project, Map.of("SORTIE_SERVER", "http://127.0.0.1:" + proxy.port(), "SORTIE_TOKEN", token), null,
                    "push", "big-blob");
            assertThat(cut.code()).as(cut.err()).isEqualTo(3);
            assertThat(cut.err()).contains("'sortie push' again goes on from what the server has").doesNotContain(token);
        }
        assertThat(server.get("/api/v1/experiments/big-blob", token).statusCode()).isEqualTo(404);

        ServerProcess.Result again = server.cli(project, server.remote(token), null, "push", "big-blob");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).containsPattern("big-blob: blob [0-9a-f]{12} resumed at (1[6-9]|20)(\\.\\d)? MiB of 40(\\.0)? MiB")
                .contains("1 new, 0 already there, 1 blob sent");
        String id = server.json("/api/v1/experiments/big-blob", token).get("id").asText();
        JsonNode artifact = server.json("/api/v1/experiments/" + id + "/artifacts", token).get("artifacts").get(0);
        java.net.http.HttpResponse<byte[]> got = server.http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(server.url + "/api/v1/experiments/" + id + "/artifacts/" + artifact.get("hash").asText()))
                .header("Authorization", "Bearer " + token).build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(java.util.Arrays.equals(got.body(), bytes)).as("the blob on the server is the local one, byte for byte").isTrue();
        try (var parts = Files.walk(server.dir)) {
            assertThat(parts.filter(p -> p.getFileName().toString().endsWith(".part")).toList()).as("no upload left behind").isEmpty();
        }
    }

    java.net.http.HttpResponse<String> putPart(String hash, long offset, byte[] bytes, int from, int to) throws Exception {
        return server.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url + "/api/v1/blobs/" + hash + "/upload?offset=" + offset))
                .header("Authorization", "Bearer " + token).PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void twoPushesOfOneBlobAtOnceGoOnTogetherAndAnUploadGivenUpForADayIsDeleted() throws Exception {
        byte[] bytes = new byte[3 << 20];
        new java.util.Random(7).nextBytes(bytes);
        String hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        int mib = 1 << 20;
        // push A sent its first 2 MiB; push B, started at the same time, sends its own first 2 MiB: the server has them
        assertThat(putPart(hash, 0, bytes, 0, 2 * mib).body()).contains("\"size\":" + 2 * mib);
        java.net.http.HttpResponse<String> b = putPart(hash, 0, bytes, 0, 2 * mib);
        assertThat(b.statusCode()).as(b.body()).isEqualTo(200);
        assertThat(ServerProcess.JSON.readTree(b.body()).get("size").asLong()).isEqualTo(2 * mib);
        // B goes on with a part that overlaps what A sent, then A sends its last MiB, which B sent already
        assertThat(ServerProcess.JSON.readTree(putPart(hash, mib, bytes, mib, 3 * mib).body()).get("size").asLong()).isEqualTo(3 * mib);
        java.net.http.HttpResponse<String> a = putPart(hash, 2 * mib, bytes, 2 * mib, 3 * mib);
        assertThat(a.statusCode()).as(a.body()).isEqualTo(200);
        assertThat(ServerProcess.JSON.readTree(a.body()).get("size").asLong()).isEqualTo(3 * mib);
        // a gap is still refused with where to send from
        assertThat(putPart(hash, 4 * mib, bytes, 0, 10).statusCode()).isEqualTo(409);
        for (int i = 0; i < 2; i++) {
            JsonNode done = server.postJson("/api/v1/blobs/" + hash + "/upload/complete", token, "{}", 200);
            assertThat(done.get("stored").asBoolean()).isTrue();
            assertThat(done.get("size").asLong()).isEqualTo(3 * mib);
        }
        // a part that comes after the other push stored the blob: told it is there
        JsonNode late = ServerProcess.JSON.readTree(putPart(hash, mib, bytes, mib, 2 * mib).body());
        assertThat(late.get("stored").asBoolean()).isTrue();

        // uploads given up (their push never came back) are deleted once a day old, at the start and every hour
        Path dir = tmp.resolve("sweep");
        Path uploads = Files.createDirectories(dir.resolve(".sortie/uploads"));
        Path old = Files.write(uploads.resolve("ab".repeat(32) + ".part"), new byte[1000]);
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofHours(25))));
        Path recent = Files.write(uploads.resolve("cd".repeat(32) + ".part"), new byte[1000]);
        Files.setLastModifiedTime(recent, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofHours(23))));
        try (ServerProcess sweeping = ServerProcess.start(dir, "--workers", "0")) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).pollInterval(java.time.Duration.ofMillis(100))
                    .until(() -> !Files.exists(old));
            assertThat(recent).as("an upload of the last day may still go on").exists();
        }
    }

    /**
     * A TCP proxy on loopback to the server that closes the connections once {@code budget} bytes went from the
     * client to the server: a network that drops a long upload in the middle.
     */
    static final class CuttingProxy implements AutoCloseable {
        private final java.net.ServerSocket listening;
        private final java.util.concurrent.atomic.AtomicLong left;
        private final int target;

        CuttingProxy(int target, long budget) throws java.io.IOException {
            this.target = target;
            this.left = new java.util.concurrent.atomic.AtomicLong(budget);
            this.listening = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "cutting-proxy");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return listening.getLocalPort();
        }

        private void accept() {
            while (!listening.isClosed()) {
                try {
                    java.net.Socket client = listening.accept();
                    java.net.Socket upstream = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), target);
                    pump(client, upstream, true);
                    pump(upstream, client, false);
                } catch (java.io.IOException closed) {
                    return;
                }
            }
        }

        private void pump(java.net.Socket from, java.net.Socket to, boolean counted) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[64 * 1024];
                try (from; to) {
                    java.io.InputStream in = from.getInputStream();
                    java.io.OutputStream out = to.getOutputStream();
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        if (counted && left.addAndGet(-n) < 0) {
                            return; // the cut: both sockets closed mid-request
                        }
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (java.io.IOException e) {
                    // the other side closed
                }
            }, "cutting-proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws java.io.IOException {
            listening.close();
        }
    }

    private static JsonNode withoutSysMetrics(JsonNode statusDoc) {
        JsonNode copy = statusDoc.deepCopy();
        for (JsonNode e : copy.path("experiments")) {
            if (e.path("metrics") instanceof ObjectNode metrics) {
                java.util.List<String> sys = new java.util.ArrayList<>();
                metrics.fieldNames().forEachRemaining(n -> {
                    if (n.startsWith("sys/")) {
                        sys.add(n);
                    }
                });
                metrics.remove(sys);
            }
        }
        return copy;
    }
}
