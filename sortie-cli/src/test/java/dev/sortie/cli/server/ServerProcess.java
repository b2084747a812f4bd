package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.cli.Main;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real {@code sortie server} in a JVM of its own, on a free port of loopback, with its folder in a test's temp
 * folder; and the JDK's HTTP client to talk to it.
 */
final class ServerProcess implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile("sortie server: listening on (https?://\\S+)");
    final Path dir;
    final Path output;
    final Process process;
    final String url;
    final HttpClient http;

    private ServerProcess(Path dir, Path output, Process process, String url, HttpClient http) {
        this.http = http;
        this.dir = dir;
        this.output = output;
        this.process = process;
        this.url = url;
    }

    static ServerProcess start(Path dir, String... extra) throws IOException {
        return start(dir, Map.of(), HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), extra);
    }

    /** A server with more in its environment, talked to with {@code client} (one that trusts its certificate, say). */
    static ServerProcess start(Path dir, Map<String, String> env, HttpClient client, String... extra) throws IOException {
        Files.createDirectories(dir);
        Path output = dir.resolveSibling(dir.getFileName() + "-server.out");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", classPath(),
                Main.class.getName(), "server", "--dir", dir.toString()));
        if (!List.of(extra).contains("--port")) {
            cmd.addAll(List.of("--port", "0")); // any free port, unless a test restarts a server where its agents post
        }
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
        pb.environment().putAll(env);
        long before = Files.exists(output) ? Files.size(output) : 0;
        Process p = pb.start();
        String[] url = new String[1];
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!p.isAlive()) {
                throw new AssertionError("the server ended (" + p.exitValue() + "): " + Files.readString(output));
            }
            Matcher m = LISTENING.matcher(Files.readString(output).substring((int) before));
            if (m.find()) {
                url[0] = m.group(1);
                return true;
            }
            return false;
        });
        return new ServerProcess(dir, output, p, url[0], client);
    }

    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    /** {@code sortie server token ARGS --dir DIR} as its own process; its output (stdout and stderr). */
    static Result sortie(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", classPath(), Main.class.getName()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--dir", dir.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    /**
     * {@code sortie ARGS} as a user's own process in {@code cwd}: none of the test runner's SORTIE_SERVER or
     * SORTIE_TOKEN, {@code credentials} as the login file (one that does not exist: no login), {@code env} added.
     */
    static Result cli(Path credentials, Path cwd, Map<String, String> env, String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", classPath(),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        Files.createDirectories(cwd);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        pb.environment().remove("SORTIE_SERVER");
        pb.environment().remove("SORTIE_TOKEN");
        pb.environment().put("SORTIE_CREDENTIALS", credentials.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err.get(), StandardCharsets.UTF_8));
    }

    /**
     * {@code sortie ARGS} as a user's own process in {@code cwd} with {@code env} added: with no login (a login file
     * beside this server's folder that nobody writes) and none of the test runner's SORTIE_SERVER or SORTIE_TOKEN.
     */
    Result cli(Path cwd, Map<String, String> env, String stdin, String... args) throws Exception {
        return cli(dir.resolveSibling("no-login"), cwd, env, stdin, args);
    }

    /** The environment that points a sortie at this server with {@code token}. */
    Map<String, String> remote(String token) {
        return Map.of("SORTIE_SERVER", url, "SORTIE_TOKEN", token);
    }

    record Result(int code, String out, String err) {
        String lastLine() {
            List<String> lines = out.lines().toList();
            return lines.get(lines.size() - 1);
        }
    }

    /** A new token of this server: the last line 'token create' printed. */
    String token(String name, boolean readOnly) throws Exception {
        Result r = readOnly ? sortie(dir, "server", "token", "create", "--name", name, "--read-only")
                : sortie(dir, "server", "token", "create", "--name", name);
        assertThat(r.code()).as(r.err()).isZero();
        return r.lastLine();
    }

    HttpResponse<String> get(String path, String token) throws Exception {
        return send("GET", path, token, null);
    }

    HttpResponse<String> post(String path, String token, String body) throws Exception {
        return send("POST", path, token, body);
    }

    HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(90));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** GET, asserting 200, as JSON. */
    JsonNode json(String path, String token) throws Exception {
        HttpResponse<String> r = get(path, token);
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** POST, asserting {@code status}, as JSON. */
    JsonNode postJson(String path, String token, String body, int status) throws Exception {
        HttpResponse<String> r = post(path, token, body);
        assertThat(r.statusCode()).as(path + " " + body + ": " + r.body()).isEqualTo(status);
        return JSON.readTree(r.body());
    }

    /** Waits for an experiment to reach {@code status}; returns its record. */
    JsonNode awaitStatus(String id, String token, String status) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            last[0] = json("/api/v1/experiments/" + id, token);
            String s = last[0].get("status").asText();
            if (!s.equals(status) && !s.equals("running") && !s.equals("queued")) {
                throw new AssertionError(id + " ended " + s + " (waiting for " + status + "): " + last[0] + "\n" + serverOutput());
            }
            return s.equals(status);
        });
        return last[0];
    }

    String serverOutput() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** The server's log file and its output: where a leaked token would be. */
    String logsAndOutput() throws IOException {
        Path log = dir.resolve(".sortie/logs/sortie.log");
        return serverOutput() + (Files.exists(log) ? Files.readString(log) : "");
    }

    /** SIGTERM, as a service manager stops it; returns its exit code. */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return -1;
        }
        return process.exitValue();
    }

    /** SIGKILL, as a crash or the OOM killer ends it: no shutdown of any kind. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(60, TimeUnit.SECONDS);
    }

    /** A free port on loopback, for a server restarted where its agents keep posting. */
    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            stop();
        }
    }
}
