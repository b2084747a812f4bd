package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/**
 * While a run goes on an EC2 instance, asks the instance metadata service (IMDSv2: a session token first, then the
 * token on every request) every {@link #POLL} for a spot interruption notice ({@code spot/instance-action}) and a
 * rebalance recommendation ({@code events/recommendations/rebalance}). A notice is handed on once (the agent stops
 * the run so that it checkpoints); a recommendation is handed on once and not acted on: AWS says the instance is at
 * higher risk, not that it goes, and stopping a run for it would lose more than it saves.
 *
 * <p>Runs only on a Sortie node (its node script left {@value #NODE_DIR}) or where the standard variable
 * {@code AWS_EC2_METADATA_SERVICE_ENDPOINT} names the service (the simulated cloud's VMs); elsewhere (an ssh host)
 * nothing is asked. {@code AWS_EC2_METADATA_DISABLED=true} turns it off, as for the AWS SDKs.
 */
final class SpotWatch implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SpotWatch.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration POLL = Duration.ofSeconds(2);
    /** What a Sortie node's setup makes (see the aws executor's NodeScript). */
    static final String NODE_DIR = "/run/sortie-node";
    static final String DEFAULT_ENDPOINT = "http://169.254.169.254";
    private static final Duration TOKEN_TTL = Duration.ofHours(6);

    /**
     * A spot interruption notice: what AWS will do ({@code terminate}, {@code stop}, {@code hibernate}), when, and to
     * which instance (its id, or this machine's name when the service did not say).
     */
    record Notice(String action, Instant time, String instance) {
    }

    private final String endpoint;
    private final HttpClient http;
    private final Consumer<Notice> onNotice;
    private final Consumer<String> onRebalance;
    private final Thread thread;
    private String token;
    private Instant tokenUntil = Instant.MIN;
    private boolean rebalanceSeen;

    private SpotWatch(String endpoint, Consumer<Notice> onNotice, Consumer<String> onRebalance) {
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(1)).build();
        this.onNotice = onNotice;
        this.onRebalance = onRebalance;
        this.thread = new Thread(this::loop, "sortie-spot-watch");
        this.thread.setDaemon(true);
    }

    /** Starts watching when this machine is an EC2 node (see the class comment); null otherwise. */
    static SpotWatch startIfOnInstance(Map<String, String> env, Consumer<Notice> onNotice, Consumer<String> onRebalance) {
        if ("true".equalsIgnoreCase(env.getOrDefault("AWS_EC2_METADATA_DISABLED", ""))) {
            return null;
        }
        String endpoint = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        if (endpoint == null || endpoint.isBlank()) {
            if (!Files.isDirectory(Path.of(NODE_DIR))) {
                return null;
            }
            endpoint = DEFAULT_ENDPOINT;
        }
        SpotWatch w = new SpotWatch(endpoint.strip(), onNotice, onRebalance);
        w.thread.start();
        LOG.log(System.Logger.Level.DEBUG, "watching {0} for spot interruption notices", endpoint);
        return w;
    }

    private void loop() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Notice n = notice();
                if (n != null) {
                    onNotice.accept(n);
                    return; // one notice: the run is being stopped
                }
                if (!rebalanceSeen) {
                    String r = get("/latest/meta-data/events/recommendations/rebalance");
                    if (r != null) {
                        rebalanceSeen = true;
                        onRebalance.accept(r.strip());
                    }
                }
            } catch (IOException e) {
                // The service did not answer this time (it is local to the instance: a blip); asked again next time
                LOG.log(System.Logger.Level.DEBUG, "the instance metadata service did not answer: {0}", e.toString());
                token = null;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "spot interruption watch: unexpected answer", e);
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The notice the service serves now, or null. */
    Notice notice() throws IOException, InterruptedException {
        String body = get("/latest/meta-data/spot/instance-action");
        if (body == null) {
            return null;
        }
        JsonNode n = JSON.readTree(body);
        Instant time;
        try {
            time = Instant.parse(n.path("time").asText());
        } catch (RuntimeException e) {
            time = Instant.now().plus(Duration.ofMinutes(2)); // AWS's two minutes, when the time cannot be read
        }
        String instance;
        try {
            instance = get("/latest/meta-data/instance-id");
        } catch (IOException e) {
            instance = null;
        }
        return new Notice(n.path("action").asText("terminate"), time,
                instance == null || instance.isBlank() ? dev.sortie.core.util.Hosts.name() : instance.strip());
    }

    /** The body of a metadata path, or null when the service says it has none (404). */
    private String get(String path) throws IOException, InterruptedException {
        for (int tries = 0; tries < 2; tries++) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint + path)).timeout(Duration.ofSeconds(2))
                    .header("X-aws-ec2-metadata-token", token()).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return r.body();
            }
            if (r.statusCode() == 404) {
                return null;
            }
            if (r.statusCode() == 401) {
                token = null; // expired or from an older service: a new one, once
                continue;
            }
            throw new IOException("GET " + path + " answered " + r.statusCode());
        }
        throw new IOException("GET " + path + ": the service refused a fresh token");
    }

    private String token() throws IOException, InterruptedException {
        if (token != null && Instant.now().isBefore(tokenUntil)) {
            return token;
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/latest/api/token")).timeout(Duration.ofSeconds(2))
                .header("X-aws-ec2-metadata-token-ttl-seconds", Long.toString(TOKEN_TTL.toSeconds()))
                .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("PUT /latest/api/token answered " + r.statusCode());
        }
        token = r.body().strip();
        tokenUntil = Instant.now().plus(TOKEN_TTL).minus(Duration.ofMinutes(5));
        return token;
    }

    /**
     * How long the run gets between SIGTERM and SIGKILL: until the termination time, less what saving the last
     * checkpoint, the log and the end record needs; at least {@code floor}, at most {@code ceiling}.
     */
    static Duration grace(Notice n, Instant now, Duration floor, Duration ceiling) {
        Duration left = Duration.between(now, n.time()).minus(Duration.ofSeconds(20));
        if (left.compareTo(floor) < 0) {
            return floor;
        }
        return left.compareTo(ceiling) > 0 ? ceiling : left;
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
