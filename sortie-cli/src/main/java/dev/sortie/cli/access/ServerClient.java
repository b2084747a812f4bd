package dev.sortie.cli.access;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The server's JSON API (sortie-server/API.md) for the CLI. Its answers that are not 2xx become the CLI's exceptions,
 * so they end with PRODUCT.md's exit codes: the server not answering is infrastructure (3, naming the URL); a token
 * it refuses is configuration (2, saying to run 'sortie login'); 400 and 404 are usage (2). The token goes only into
 * the Authorization header: no message here contains it.
 */
public final class ServerClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private final ServerLogin login;
    private final HttpClient http;

    public ServerClient(ServerLogin login) {
        this.login = login;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    public String url() {
        return login.url();
    }

    public static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public JsonNode get(String path) {
        return json(send("GET", path, null, Duration.ofSeconds(60)));
    }

    public JsonNode post(String path, Object body) {
        try {
            return json(send("POST", path, JSON.writeValueAsString(body), Duration.ofSeconds(60)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write the request to " + path + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    public JsonNode put(String path, Object body) {
        try {
            return json(send("PUT", path, JSON.writeValueAsString(body), Duration.ofSeconds(300)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write the request to " + path + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    public JsonNode delete(String path) {
        // a forced remove waits on the server for the run's end (its stop grace and a wait after it)
        return json(send("DELETE", path, null, Duration.ofSeconds(90)));
    }

    /** PUT of bytes streamed from {@code body} (a blob). */
    public JsonNode putStream(String path, java.util.function.Supplier<java.io.InputStream> body) {
        HttpResponse<String> r = exchange("PUT", path, HttpRequest.BodyPublishers.ofInputStream(body), "application/octet-stream",
                Duration.ofMinutes(30), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw failure(path, r.statusCode(), r.body());
        }
        return json(r);
    }

    /** PUT of bytes held here (a part of a blob). */
    public JsonNode putBytes(String path, byte[] body) {
        HttpResponse<String> r = exchange("PUT", path, HttpRequest.BodyPublishers.ofByteArray(body), "application/octet-stream",
                Duration.ofMinutes(5), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw failure(path, r.statusCode(), r.body());
        }
        return json(r);
    }

    /** GET of a route that answers a stream (a blob), not held in memory. */
    public HttpResponse<java.io.InputStream> getStream(String path) {
        HttpResponse<java.io.InputStream> r = exchange("GET", path, null, Duration.ofMinutes(30), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() / 100 != 2) {
            String body;
            try (java.io.InputStream in = r.body()) {
                body = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
            } catch (IOException e) {
                body = "";
            }
            throw failure(path, r.statusCode(), body);
        }
        return r;
    }

    /** GET of a route that answers bytes (a log); its headers are in the response. */
    public HttpResponse<byte[]> getBytes(String path, Duration timeout) {
        HttpResponse<byte[]> r = exchange("GET", path, null, timeout, HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() / 100 != 2) {
            throw failure(path, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        }
        return r;
    }

    private HttpResponse<String> send(String method, String path, String body, Duration timeout) {
        HttpResponse<String> r = exchange(method, path, body, timeout, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw failure(path, r.statusCode(), r.body());
        }
        return r;
    }

    private <T> HttpResponse<T> exchange(String method, String path, String body, Duration timeout, HttpResponse.BodyHandler<T> handler) {
        return exchange(method, path, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body),
                body == null ? null : "application/json", timeout, handler);
    }

    private <T> HttpResponse<T> exchange(String method, String path, HttpRequest.BodyPublisher body, String type, Duration timeout,
            HttpResponse.BodyHandler<T> handler) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(login.url() + "/api/v1" + path)).timeout(timeout)
                .header("Authorization", "Bearer " + login.token());
        if (type != null) {
            b.header("Content-Type", type);
        }
        b.method(method, body);
        try {
            return http.send(b.build(), handler);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach the Sortie server at " + login.url() + " (" + describe(e)
                    + "): is it running? ('sortie logout' goes back to the local ledger)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException("interrupted while waiting for " + login.url()));
        }
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }

    private RuntimeException failure(String path, int status, String body) {
        String error = body;
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.hasNonNull("error")) {
                error = n.get("error").asText();
            }
        } catch (IOException notJson) {
            // the body as it is
        }
        String where = login.url() + " " + path.replaceAll("\\?.*", "");
        return switch (status) {
            case 401 -> new ConfigException("the Sortie server at " + login.url() + " refused the token (unknown or revoked): run 'sortie login "
                    + login.url() + "' with a valid token (or set SORTIE_TOKEN)");
            case 403 -> new ConfigException("the Sortie server at " + login.url() + " refused: " + error
                    + " (a read-only token; log in with a read-write one to change anything)");
            case 404 -> new NotFoundException(error);
            case 400, 409, 413 -> new IllegalArgumentException(error);
            default -> new UncheckedIOException(new IOException(where + " answered " + status + ": " + error));
        };
    }

    private static JsonNode json(HttpResponse<String> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("the server's answer to " + r.uri().getPath() + " is not JSON: " + e.getMessage(), e);
        }
    }
}
