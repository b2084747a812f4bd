package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.model.MetricPoint;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The agent calling home: what an attempt reports (its journal's metric points and end, its log's bytes) posted as
 * it happens to the server's reports route ({@code POST $SORTIE_API/reports/ID} with the run's own
 * {@code $SORTIE_TOKEN}), so the server sees the run live without polling the host.
 *
 * <p>The buffer is the journal and the log themselves, on disk beside each other: the reporter keeps only how far
 * the server has acknowledged each ({@code home-ATTEMPT.json}), and after a failure (the server down, restarting,
 * the network gone) it sends again from there. The server's records are idempotent (a log chunk is placed at its
 * byte offset, a point is keyed by key and step), so a report sent twice, or half-recorded before a crash, counts
 * once. A report the server refuses for good (400, 401: the run's token was revoked as the run ended elsewhere,
 * 403, 404, an attempt that is over) stops the reporting: the journal stays the record for whoever follows it.
 */
public final class HomeReporter implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HomeReporter.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String URL_ENV = "SORTIE_API";
    public static final String TOKEN_ENV = "SORTIE_TOKEN";
    static final int JOURNAL_WINDOW = 1 << 20;
    static final int LOG_WINDOW = 1 << 20;
    static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    private final URI target;
    private final String token;
    private final int attempt;
    private final Path journal;
    private final Path log;
    private final Path state;
    private final Duration every;
    private final HttpClient http;
    private final Thread thread;
    private volatile long journalOffset;
    private volatile long logOffset;
    private volatile boolean done;
    private volatile boolean stopping;
    private volatile String gaveUp;
    private volatile long reportsSent;
    private volatile long failures;
    private volatile java.util.function.LongConsumer latency = nanos -> {
    };

    /**
     * @param api    the server's API base ({@code $SORTIE_API}, e.g. {@code http://host:8080/api/v1})
     * @param every  how often what is new is sent (the latency a watcher sees)
     */
    public HomeReporter(String api, String token, String experimentId, int attempt, Path journal, Path log, Path state, Duration every) {
        this.target = URI.create(api.replaceAll("/+$", "") + "/reports/" + URLEncoder.encode(experimentId, StandardCharsets.UTF_8));
        this.token = token;
        this.attempt = attempt;
        this.journal = journal;
        this.log = log;
        this.state = state;
        this.every = every;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        readState();
        this.thread = new Thread(this::loop, "sortie-report-home");
        thread.setDaemon(true);
    }

    /** The reporter of a run whose environment names a server ({@code SORTIE_API} and {@code SORTIE_TOKEN}), else none. */
    public static Optional<HomeReporter> forRun(Map<String, String> environment, String experimentId, int attempt, Path runDir) {
        String api = environment.get(URL_ENV);
        String token = environment.get(TOKEN_ENV);
        if (api == null || api.isBlank() || token == null || token.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(new HomeReporter(api, token, experimentId, attempt, AgentMain.journalFile(runDir, attempt),
                AgentMain.logFile(runDir, attempt), stateFile(runDir, attempt), Duration.ofMillis(500)));
    }

    public static Path stateFile(Path runDir, int attempt) {
        return runDir.resolve("home-" + attempt + ".json");
    }

    /** Told how long each report that got through took, in nanoseconds (for the ingest benchmark); before {@link #start}. */
    public HomeReporter onReport(java.util.function.LongConsumer nanos) {
        this.latency = java.util.Objects.requireNonNull(nanos, "nanos");
        return this;
    }

    public HomeReporter start() {
        thread.start();
        return this;
    }

    /** True once the attempt's end, with all of its log, is recorded by the server. */
    public boolean done() {
        return done;
    }

    /** Why the reporting stopped before the end (the server refused a report for good); null if it did not. */
    public String gaveUp() {
        return gaveUp;
    }

    public long reportsSent() {
        return reportsSent;
    }

    /** Reports that did not get through (and were sent again later). */
    public long failures() {
        return failures;
    }

    /**
     * Waits, at most {@code linger}, for the rest (the end included) to reach the server: a server that is down as
     * the run ends gets it when it is back, if that is within the linger. True when all of it got there.
     */
    public boolean finish(Duration linger) throws InterruptedException {
        thread.join(Math.max(1, linger.toMillis()));
        return done;
    }

    /** Stops sending (what was not sent is still in the journal and the log). */
    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        long backoff = every.toMillis();
        while (!stopping && !done && gaveUp == null) {
            boolean ok;
            try {
                ok = round();
            } catch (IOException e) {
                ok = false;
                failures++;
                LOG.log(System.Logger.Level.DEBUG, "a report to {0} did not get through (sent again later): {1}", target, e.toString());
            } catch (InterruptedException e) {
                return;
            }
            backoff = ok ? every.toMillis() : Math.min(MAX_BACKOFF.toMillis(), Math.max(every.toMillis(), backoff * 2));
            if (done || gaveUp != null) {
                return;
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** What is read but not yet acknowledged: the journal up to {@code journalEnd}, the log up to {@code logEnd}. */
    private record Pending(List<MetricPoint> points, JournalRecord.End end, long journalEnd, byte[] logBytes) {
    }

    /** Sends what is new, if anything; false when it did not get through (sent again next round). */
    boolean round() throws IOException, InterruptedException {
        Pending p = read();
        if (p.points().isEmpty() && p.end() == null && p.logBytes().length == 0 && p.journalEnd() == journalOffset) {
            return true;
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("attempt", attempt);
        if (p.end() != null) {
            body.put("state", p.end().outcome().status().name().toLowerCase(Locale.ROOT));
            if (p.end().outcome().exitCode() != null) {
                body.put("exit_code", p.end().outcome().exitCode());
            }
            body.put("error", p.end().outcome().error());
        } else {
            body.put("state", "running");
        }
        if (p.logBytes().length > 0) {
            body.putArray("logs").addObject().put("offset", logOffset).put("text", new String(p.logBytes(), StandardCharsets.UTF_8));
        }
        ArrayNode metrics = body.putArray("metrics");
        for (MetricPoint m : p.points()) {
            addPoint(metrics, m);
        }
        HttpRequest request = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        long sent = System.nanoTime();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        int status = r.statusCode();
        if (status == 200) {
            latency.accept(System.nanoTime() - sent);
            journalOffset = p.journalEnd();
            logOffset += p.logBytes().length;
            reportsSent++;
            writeState();
            if (p.end() != null) {
                done = true;
            }
            return true;
        }
        JsonNode err = parse(r.body());
        if (status == 409 && err.has("log_size") && err.get("log_size").asLong() < logOffset) {
            // the server's copy of the log is shorter than it acknowledged (restored from a backup?): send from its end
            logOffset = err.get("log_size").asLong();
            failures++;
            return false;
        }
        if (status >= 400 && status < 500 && status != 408 && status != 429) {
            gaveUp = "the server refused a report (" + status + "): " + err.path("error").asText(r.body());
            LOG.log(System.Logger.Level.WARNING, "reporting home to {0} stopped: {1}", target, gaveUp);
            return false;
        }
        failures++;
        LOG.log(System.Logger.Level.DEBUG, "a report to {0} answered {1} (sent again later)", target, status);
        return false;
    }

    private Pending read() throws IOException {
        List<MetricPoint> points = new ArrayList<>();
        JournalRecord.End end = null;
        long consumed = journalOffset;
        byte[] lines = readFrom(journal, journalOffset, JOURNAL_WINDOW);
        int start = 0;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i] != '\n') {
                continue;
            }
            String line = new String(lines, start, i - start, StandardCharsets.UTF_8);
            JournalRecord rec = line.isBlank() ? null : JournalRecord.parse(line);
            long next = journalOffset + i + 1;
            if (rec instanceof JournalRecord.End e) {
                end = e;
                consumed = next;
                break;
            }
            if (rec instanceof JournalRecord.Metrics m) {
                points.addAll(m.points());
            }
            consumed = next;
            start = i + 1;
        }
        byte[] logBytes = readFrom(log, logOffset, LOG_WINDOW);
        logBytes = java.util.Arrays.copyOf(logBytes, utf8Boundary(logBytes));
        if (end != null && logOffset + logBytes.length < end.logSize()) {
            // the end goes once all of the log is there: the server then has the run complete when it reads the end
            consumed = journalOffset + indexBeforeEnd(lines);
            end = null;
        }
        return new Pending(points, end, consumed, logBytes);
    }

    /** Where the end's line starts in {@code lines} (the journal is read up to it, not past it). */
    private static long indexBeforeEnd(byte[] lines) {
        int start = 0;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i] == '\n') {
                if (JournalRecord.parse(new String(lines, start, i - start, StandardCharsets.UTF_8)) instanceof JournalRecord.End) {
                    return start;
                }
                start = i + 1;
            }
        }
        return start;
    }

    private static byte[] readFrom(Path file, long offset, int window) throws IOException {
        if (!Files.isRegularFile(file)) {
            return new byte[0];
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long size = f.length();
            if (size <= offset) {
                return new byte[0];
            }
            byte[] b = new byte[(int) Math.min(window, size - offset)];
            f.seek(offset);
            f.readFully(b);
            return b;
        }
    }

    /**
     * One point of a report. JSON has no number for NaN and the infinities; Jackson writes them as the strings the
     * events file and the SDKs write ("NaN", "Infinity", "-Infinity"), which the server maps back, so a diverging loss
     * shows as NaN in the table while the run goes on, as it does for a local run (these points were left out before).
     */
    static void addPoint(ArrayNode metrics, MetricPoint m) {
        metrics.addObject().put("key", m.key()).put("step", m.step()).put("value", m.value()).put("time", m.time().toString());
    }

    /** The length of {@code b}'s longest prefix that does not end inside a UTF-8 character (a line still being written). */
    static int utf8Boundary(byte[] b) {
        int n = b.length;
        int i = n - 1;
        int back = 0;
        while (i >= 0 && back < 4 && (b[i] & 0xC0) == 0x80) {
            i--;
            back++;
        }
        if (i < 0) {
            return n;
        }
        int lead = b[i] & 0xFF;
        int len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return n - i >= len ? n : i;
    }

    private void readState() {
        try {
            if (Files.isRegularFile(state)) {
                JsonNode n = JSON.readTree(Files.readAllBytes(state));
                journalOffset = n.path("journal").asLong(0);
                logOffset = n.path("log").asLong(0);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "{0} could not be read; reporting from the start (the server takes a resend once): {1}", state, e);
        }
    }

    private void writeState() {
        try {
            Path tmp = state.resolveSibling(state.getFileName() + ".tmp");
            Files.writeString(tmp, JSON.createObjectNode().put("journal", journalOffset).put("log", logOffset)
                    .put("at", Instant.now().toString()).toString());
            Files.move(tmp, state, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // only costs a resend, which the server takes once
            LOG.log(System.Logger.Level.DEBUG, "{0} could not be written: {1}", state, e);
        }
    }

    private static JsonNode parse(String body) {
        try {
            JsonNode n = JSON.readTree(body);
            return n == null ? JSON.createObjectNode() : n;
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }
}
