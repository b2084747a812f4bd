package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDKs outside a scheduled run with SORTIE_SERVER and SORTIE_TOKEN set: Python's {@code sortie.start()} (sdk/python
 * from the checkout) and Java's {@code Sortie.start()} each create a tracked run in a real server's table through its
 * API, with their params, metrics and end; a crash ends it failed; a server down at the start and SIGKILLed in the
 * middle loses no point and counts none twice.
 */
@Tag("integration")
class SdkServerTest {
    static final Path SDK = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent().resolve("sdk/python");
    @TempDir
    static Path tmp;
    // a tracked run that sent nothing for 6 s is lost (the SDK posts every 1.5 s while idle)
    @StartedServer(args = {"--workers", "0"}, env = "SORTIE_TRACKED_LOST_AFTER_S=6")
    static ServerProcess server;
    @ServerToken("alice")
    static String token;

    static Map<String, String> login(String url, String token) {
        return Map.of("SORTIE_SERVER", url, "SORTIE_TOKEN", token);
    }

    /** Runs {@code cmd} in a folder of its own with the SDK's environment; its exit code and output. */
    static ServerProcess.Result run(Map<String, String> env, List<String> cmd) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("work"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("SORTIE_"));
        pb.environment().put("PYTHONPATH", SDK.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        System.err.println("$ " + String.join(" ", cmd) + "  -> " + p.exitValue() + "\n" + text);
        return new ServerProcess.Result(p.exitValue(), text, text);
    }

    static ServerProcess.Result python(String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
        cmd.addAll(List.of(args));
        return run(login(server.url, token), cmd);
    }

    static ServerProcess.Result java(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", ServerProcess.classPath(),
                SdkServerMain.class.getName()));
        cmd.addAll(List.of(args));
        return run(login(server.url, token), cmd);
    }

    static final String PY = """
            import sys, sortie
            with sortie.start(name=sys.argv[1], params={"lr": 0.1, "net": {"depth": 3}}) as run:
                for s in range(50):
                    run.log(loss=1.0 / (s + 1), step=s)
                run.log(acc=0.5)
                run.log(acc=0.75)
                run.log_params({"bs": 32})
                print("run", run.id, run.name, run.server)
                if sys.argv[2] == "raise":
                    raise ValueError("boom")
            """;

    JsonNode experiment(String name) throws Exception {
        return server.json("/api/v1/experiments/" + name, token);
    }

    void assertReported(String name, double lr, int depth, int bs) throws Exception {
        JsonNode e = experiment(name);
        assertThat(e.get("executor").asText()).as(e.toString()).startsWith("sdk@");
        assertThat(e.get("params").get("lr").asDouble()).isEqualTo(lr);
        assertThat(e.get("params").get("net").get("depth").asInt()).isEqualTo(depth);
        assertThat(e.get("params").get("bs").asInt()).as("params logged after the start").isEqualTo(bs);
        JsonNode loss = server.json("/api/v1/experiments/" + name + "/metrics/loss", token);
        assertThat(loss.get("total_points").asInt()).isEqualTo(50);
        assertThat(loss.get("points").get(49).get("value").asDouble()).isEqualTo(1.0 / 50);
        JsonNode acc = server.json("/api/v1/experiments/" + name + "/metrics/acc", token);
        assertThat(acc.get("total_points").asInt()).isEqualTo(2);
        assertThat(acc.get("points").get(0).get("step").asLong()).as("numbered 0, 1 as in a scheduled run").isZero();
        assertThat(acc.get("points").get(1).get("value").asDouble()).isEqualTo(0.75);
    }

    @Test
    void pythonAndJavaRunsLandInTheServersTableWithParamsMetricsAndTheirEnd() throws Exception {
        ServerProcess.Result py = python(PY, "py-ok", "ok");
        assertThat(py.code()).as(py.out()).isZero();
        assertThat(py.out()).contains("run ", " py-ok " + server.url + "/api/v1");
        assertThat(experiment("py-ok").get("status").asText()).isEqualTo("succeeded");
        assertReported("py-ok", 0.1, 3, 32);

        ServerProcess.Result jv = java("ok", "java-ok");
        assertThat(jv.code()).as(jv.out()).isZero();
        assertThat(experiment("java-ok").get("status").asText()).isEqualTo("succeeded");
        assertReported("java-ok", 0.2, 4, 64);
    }

    /** The loss series' values at steps 48 to 52 as the server serves them (NaN and the infinities as JSON strings). */
    List<String> lossTail(String name) throws Exception {
        JsonNode loss = server.json("/api/v1/experiments/" + name + "/metrics/loss?points=1000", token);
        assertThat(loss.get("total_points").asInt()).as(loss.toString()).isEqualTo(53);
        List<String> tail = new ArrayList<>();
        loss.get("points").forEach(p -> {
            if (p.get("step").asLong() >= 48) {
                tail.add(p.get("step").asLong() + "=" + p.get("value").asText());
            }
        });
        return tail;
    }

    @Test
    void nanAndInfinitiesAreCarriedToTheServerNotDropped() throws Exception {
        ServerProcess.Result py = python("""
                import sys, sortie
                with sortie.start(name="py-diverge") as run:
                    for s in range(50):
                        run.log(loss=1.0 / (s + 1), step=s)
                    run.log(loss=float("nan"), step=50)
                    run.log(loss=float("inf"), step=51)
                    run.log(loss=float("-inf"), step=52)
                """);
        assertThat(py.code()).as(py.out()).isZero();
        assertThat(py.out()).as("nothing dropped, nothing refused").doesNotContain("not sent", "refused");
        assertThat(experiment("py-diverge").get("status").asText()).isEqualTo("succeeded");
        assertThat(lossTail("py-diverge")).containsExactly("48=" + (1.0 / 49), "49=" + (1.0 / 50), "50=NaN", "51=Infinity", "52=-Infinity");

        ServerProcess.Result jv = java("diverge", "java-diverge");
        assertThat(jv.code()).as(jv.out()).isZero();
        assertThat(jv.out()).doesNotContain("not sent", "refused");
        assertThat(experiment("java-diverge").get("status").asText()).isEqualTo("succeeded");
        assertThat(lossTail("java-diverge")).containsExactly("48=" + (1.0 / 49), "49=" + (1.0 / 50), "50=NaN", "51=Infinity", "52=-Infinity");
        // the latest loss in the experiment's record (what the table and status show)
        assertThat(experiment("java-diverge").get("metrics").get("loss").asText()).isEqualTo("-Infinity");
    }

    /** The saved file {@code file} (in the SDK programs' working folder) is the run's one artifact, and the server gives its bytes back. */
    void assertSaved(String name, String file) throws Exception {
        byte[] expected = Files.readAllBytes(tmp.resolve("work").resolve(file));
        JsonNode listed = server.json("/api/v1/experiments/" + name + "/artifacts", token).get("artifacts");
        assertThat(listed).as(listed.toString()).hasSize(1);
        JsonNode a = listed.get(0);
        assertThat(a.get("path").asText()).isEqualTo(file);
        assertThat(a.get("size").asLong()).isEqualTo(expected.length);
        var resp = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url + "/api/v1/experiments/"
                        + name + "/artifacts/" + a.get("hash").asText())).header("Authorization", "Bearer " + token).build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertThat(resp.statusCode()).isEqualTo(200);
        assertThat(resp.body()).as("the bytes back, as saved").isEqualTo(expected);
    }

    @Test
    void savedFilesOfTrackedRunsAreUploadedToTheServersStoreAndListedOnTheirExperiment() throws Exception {
        // 9 MiB: more than one upload part (8 MiB), so the resumable upload is exercised in both SDKs
        ServerProcess.Result py = python("""
                import random, sortie
                data = random.Random(7).randbytes(9 << 20)
                with open("py-model.bin", "wb") as f:
                    f.write(data)
                with sortie.start(name="py-save") as run:
                    run.log(loss=0.5)
                    run.log_artifact("py-model.bin")
                """);
        assertThat(py.code()).as(py.out()).isZero();
        assertThat(py.out()).as("nothing refused or left unsaved").doesNotContain("not saved", "refused");
        assertSaved("py-save", "py-model.bin");
        // and 'sortie pull' through the server brings it back as it does a scheduled run's artifact
        Path into = tmp.resolve("pulled");
        ServerProcess.Result pulled = run(login(server.url, token), List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                ServerProcess.classPath(), dev.sortie.cli.Main.class.getName(), "pull", "py-save", "--to", into.toString()));
        assertThat(pulled.code()).as(pulled.out()).isZero();
        assertThat(pulled.out()).contains("artifact  py-model.bin");
        assertThat(into.resolve("py-model.bin")).hasBinaryContent(Files.readAllBytes(tmp.resolve("work/py-model.bin")));

        ServerProcess.Result jv = java("save", "java-save", "java-model.bin");
        assertThat(jv.code()).as(jv.out()).isZero();
        assertThat(jv.out()).doesNotContain("not saved", "refused");
        assertSaved("java-save", "java-model.bin");
    }

    @Test
    void aCrashEndsTheRunFailedWithItsErrorAndAnExitWithoutCloseInterrupted() throws Exception {
        ServerProcess.Result py = python(PY, "py-raise", "raise");
        assertThat(py.code()).isEqualTo(1);
        JsonNode e = experiment("py-raise");
        assertThat(e.get("status").asText()).isEqualTo("failed");
        assertThat(e.get("error").asText()).isEqualTo("ValueError: boom");
        assertReported("py-raise", 0.1, 3, 32);
        // no `with`: an exception that ends the program ends the run failed
        ServerProcess.Result bare = python("import sortie\nrun = sortie.start(name='py-bare')\nrun.log(loss=1.0)\n1 / 0\n");
        assertThat(bare.code()).isEqualTo(1);
        assertThat(experiment("py-bare").get("status").asText()).isEqualTo("failed");
        assertThat(experiment("py-bare").get("error").asText()).isEqualTo("ZeroDivisionError: division by zero");

        ServerProcess.Result jv = java("fail", "java-fail");
        assertThat(jv.code()).as(jv.out()).isZero();
        assertThat(experiment("java-fail").get("status").asText()).isEqualTo("failed");
        assertThat(experiment("java-fail").get("error").asText()).isEqualTo("java.lang.IllegalStateException: diverged");
        ServerProcess.Result exit = java("exit", "java-exit");
        assertThat(exit.code()).as(exit.out()).isZero();
        assertThat(experiment("java-exit").get("status").asText()).isEqualTo("interrupted");
        assertReported("java-exit", 0.2, 4, 64);
    }

    @Test
    void aServerDownAtTheStartAndKilledMidRunLosesNoPointAndCountsNoneTwice() throws Exception {
        Path dir = tmp.resolve("flaky");
        int port = ServerProcess.freePort();
        String url = "http://127.0.0.1:" + port;
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ServerProcess.Result made = ServerProcess.sortie(dir, "server", "token", "create", "--name", "bob");
        assertThat(made.code()).as(made.err()).isZero();
        String bob = made.lastLine();
        Path gate = tmp.resolve("gate");
        // 100 points while no server listens, then (after the gate) 100 more while the server is killed and restarted
        String script = """
                import os, sys, time, sortie
                run = sortie.start(name="flaky", params={"lr": 0.3})
                for s in range(100):
                    run.log(loss=s * 0.5, step=s)
                    time.sleep(0.01)
                while not os.path.exists(sys.argv[1]):
                    time.sleep(0.05)
                for s in range(100, 200):
                    run.log(loss=s * 0.5, step=s)
                    time.sleep(0.01)
                run.finish()
                """;
        Path out = tmp.resolve("flaky.txt");
        ProcessBuilder pb = new ProcessBuilder("python3", "-c", script, gate.toString()).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SORTIE_"));
        pb.environment().put("PYTHONPATH", SDK.toString());
        pb.environment().put("SORTIE_REPORT_WAIT_S", "90");
        pb.environment().putAll(login(url, bob));
        Process p = pb.start();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> Files.readString(out).contains("does not answer"));
        try (ServerProcess first = ServerProcess.start(dir, Map.of(), client, "--workers", "0", "--port", Integer.toString(port))) {
            // the run is created and its first 100 points sent once the server is there
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
                var r = first.get("/api/v1/experiments/flaky/metrics/loss", bob);
                return r.statusCode() == 200 && ServerProcess.JSON.readTree(r.body()).get("total_points").asInt() == 100;
            });
            Files.writeString(gate, "");
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                    .until(() -> ServerProcess.JSON.readTree(first.get("/api/v1/experiments/flaky/metrics/loss", bob).body()).get("total_points").asInt() > 110);
            first.kill(); // SIGKILL while the run logs
        }
        // the SDK saw the outage (a report not taken) before the server is back
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> count(Files.readString(out), "did not take a report") >= 2);
        try (ServerProcess second = ServerProcess.start(dir, Map.of(), client, "--workers", "0", "--port", Integer.toString(port))) {
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            String said = Files.readString(out);
            System.err.println("$ python3 (flaky)  -> " + p.exitValue() + "\n" + said);
            assertThat(p.exitValue()).as(said).isZero();
            assertThat(said).contains("keeping it and sending again", "takes reports again");
            JsonNode e = second.json("/api/v1/experiments/flaky", bob);
            assertThat(e.get("status").asText()).isEqualTo("succeeded");
            assertThat(e.get("params").get("lr").asDouble()).isEqualTo(0.3);
            JsonNode series = second.json("/api/v1/experiments/flaky/metrics/loss?points=1000", bob);
            assertThat(series.get("total_points").asInt()).as("every point once").isEqualTo(200);
            List<Long> steps = new ArrayList<>();
            series.get("points").forEach(pt -> steps.add(pt.get("step").asLong()));
            assertThat(steps).hasSize(200).doesNotHaveDuplicates();
            List<String> names = new ArrayList<>();
            second.json("/api/v1/experiments", bob).get("experiments").forEach(x -> names.add(x.get("name").asText()));
            assertThat(names).as("one row for the run, however often its creation was sent").containsExactly("flaky");
        }
    }

    /** A Python SDK run started in the background, its output in {@code out}. */
    static Process pythonInBackground(Path out, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SORTIE_"));
        pb.environment().put("PYTHONPATH", SDK.toString());
        pb.environment().putAll(login(server.url, token));
        return pb.start();
    }

    /** {@link SdkServerMain} started in the background, its output in {@code out}. */
    static Process javaInBackground(Path out, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", ServerProcess.classPath(),
                SdkServerMain.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SORTIE_"));
        pb.environment().putAll(login(server.url, token));
        return pb.start();
    }

    @Test
    void aTrackedRunWhoseProcessWasKilledIsEndedLostWhileAnIdleOneIsKeptByItsHeartbeat() throws Exception {
        String script = """
                import os, sys, time, sortie
                run = sortie.start(name=sys.argv[1])
                run.log(loss=1.0)
                run.flush()
                print("started", flush=True)
                while not os.path.exists(sys.argv[2]):
                    time.sleep(0.05)
                run.log(loss=0.5)
                run.finish()
                """;
        Path gate = tmp.resolve("idle-gate");
        Path killedOut = tmp.resolve("killed.txt");
        Path idleOut = tmp.resolve("idle.txt");
        Process killed = pythonInBackground(killedOut, script, "py-killed", tmp.resolve("never").toString());
        Process idle = pythonInBackground(idleOut, script, "py-idle", gate.toString());
        Path javaOut = tmp.resolve("java-idle.txt");
        Process javaIdle = javaInBackground(javaOut, "idle", "java-idle", gate.toString());
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> Files.readString(killedOut).contains("started") && Files.readString(idleOut).contains("started")
                        && Files.readString(javaOut).contains("run "));
        killed.destroyForcibly(); // SIGKILL: no finish, no exit hook
        assertThat(killed.waitFor(30, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> experiment("py-killed").get("status").asText().equals("interrupted"));
        JsonNode lost = experiment("py-killed");
        assertThat(lost.get("error").asText()).startsWith("lost: the SDK of this run on ").contains("sent nothing for", "6 s allowed");
        // the idle run sent no metric for as long, but its heartbeat kept it: it goes on and ends as it says
        assertThat(experiment("py-idle").get("status").asText()).isEqualTo("running");
        assertThat(experiment("java-idle").get("status").asText()).isEqualTo("running");
        Files.writeString(gate, "");
        assertThat(javaIdle.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(javaIdle.exitValue()).as(Files.readString(javaOut)).isZero();
        assertThat(experiment("java-idle").get("status").asText()).isEqualTo("succeeded");
        assertThat(idle.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(idle.exitValue()).as(Files.readString(idleOut)).isZero();
        assertThat(experiment("py-idle").get("status").asText()).isEqualTo("succeeded");
        assertThat(server.json("/api/v1/experiments/py-idle/metrics/loss", token).get("total_points").asInt()).isEqualTo(2);
    }

    @Test
    void aTrackedRunStoppedOnTheServerEndsItsProgramAtItsNextLog() throws Exception {
        String script = """
                import sys, time, sortie
                with sortie.start(name="py-stopped") as run:
                    s = 0
                    try:
                        while True:
                            run.log(loss=1.0 / (s + 1), step=s)
                            s += 1
                            if s == 5:
                                print("logging", flush=True)
                            time.sleep(0.05)
                    except sortie.RunStopped as e:
                        print("told:", e.status, run.stopped, e, flush=True)
                        raise
                """;
        Path out = tmp.resolve("stopped.txt");
        Process p = pythonInBackground(out, script);
        Path javaOut = tmp.resolve("java-stopped.txt");
        Process jv = javaInBackground(javaOut, "until-stopped", "java-stopped");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> Files.readString(out).contains("logging") && Files.readString(javaOut).contains("run "));
        JsonNode stopped = server.postJson("/api/v1/experiments/py-stopped/stop", token, "", 200);
        assertThat(stopped.get("status").asText()).isEqualTo("stopped");
        assertThat(server.postJson("/api/v1/experiments/java-stopped/stop", token, "", 200).get("status").asText()).isEqualTo("stopped");
        assertThat(jv.waitFor(60, TimeUnit.SECONDS)).as("the Java program sees the stop at its next post").isTrue();
        assertThat(Files.readString(javaOut)).contains("ended on the server: stopped: stopped by user");
        assertThat(experiment("java-stopped").get("status").asText()).isEqualTo("stopped");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the program learns of the stop at its next post").isTrue();
        String said = Files.readString(out);
        System.err.println("$ python3 (stopped)  -> " + p.exitValue() + "\n" + said);
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(said).contains("told: stopped stopped sortie: run py-stopped was ended on the server (stopped: stopped by user)");
        JsonNode e = experiment("py-stopped");
        assertThat(e.get("status").asText()).as("its SDK's end does not overwrite the stop").isEqualTo("stopped");
        assertThat(e.get("error").asText()).isEqualTo("stopped by user");
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
