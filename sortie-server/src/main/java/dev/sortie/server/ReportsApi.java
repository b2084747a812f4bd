package dev.sortie.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An agent's report of a run: its state, log lines at their byte offsets, metric points at their steps, system
 * metrics at their times. Made for agents that buffer and send again (after a network error, or a server restart):
 * a log chunk is placed at its offset (bytes the log already has are not written twice), a metric point is keyed by
 * (key, step) and replaces itself, a state already recorded changes nothing, so the same report twice counts once.
 * A report is checked whole before anything of it is recorded: a malformed one is refused (400, naming the field)
 * and nothing of it is kept.
 */
final class ReportsApi {
    static final String SYSTEM_PREFIX = "sys/";
    static final int MAX_ITEMS = 100_000;
    private static final Set<String> FIELDS = Set.of("attempt", "state", "exit_code", "error", "logs", "metrics", "system",
            "artifacts");
    private static final java.util.regex.Pattern HASH = java.util.regex.Pattern.compile("[0-9a-f]{16,128}");
    private final ServerContext context;
    /** One writer per experiment's log at a time: two reports of one run may arrive at once. */
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

    private final TrackedLiveness liveness;

    ReportsApi(ServerContext context, TrackedLiveness liveness) {
        this.context = context;
        this.liveness = liveness;
    }

    void register(Javalin app) {
        app.post(ApiServer.PREFIX + "/reports/{id}", this::report);
    }

    private record LogChunk(long offset, byte[] bytes) {
    }

    private void report(Context ctx) throws IOException {
        Experiment e = context.service().find(ctx.pathParam("id"));
        JsonNode body = ExperimentsApi.body(ctx);
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw ApiError.badRequest(f, "unknown field '" + f + "'; valid fields: " + String.join(", ", new java.util.TreeSet<>(FIELDS)));
            }
        }
        JsonNode a = body.get("attempt");
        if (a == null || !a.canConvertToInt() || !a.isIntegralNumber() || a.asInt() < 1) {
            throw ApiError.badRequest("attempt", "'attempt' is needed: the attempt this report is about (a whole number from 1)");
        }
        int attempt = a.asInt();
        boolean tracked = e.executor().startsWith(TrackedApi.EXECUTOR_PREFIX);
        liveness.seen(e.id(), tracked); // any report, even an empty one, says the run's process is there
        if (attempt > e.attempt()) {
            throw ApiError.badRequest("attempt", "experiment " + e.name() + " has no attempt " + attempt + " (it is at attempt " + e.attempt() + ")");
        }
        ExperimentStatus state = null;
        String s = ExperimentsApi.text(body, "state");
        if (s != null) {
            try {
                state = ExperimentStatus.parse(s);
            } catch (IllegalArgumentException ex) {
                throw ApiError.badRequest("state", ex.getMessage());
            }
            if (state == ExperimentStatus.QUEUED) {
                throw ApiError.badRequest("state", "an agent cannot report 'queued'; valid: running, succeeded, failed, stopped, interrupted");
            }
        }
        Integer exitCode = null;
        if (body.hasNonNull("exit_code")) {
            if (!body.get("exit_code").isIntegralNumber() || !body.get("exit_code").canConvertToInt()) {
                throw ApiError.badRequest("exit_code", "'exit_code' must be a whole number");
            }
            exitCode = body.get("exit_code").asInt();
        }
        String error = ExperimentsApi.text(body, "error");
        List<LogChunk> logs = logs(body.get("logs"));
        List<MetricPoint> points = new ArrayList<>();
        metrics(body.get("metrics"), "metrics", false, points);
        metrics(body.get("system"), "system", true, points);
        List<dev.sortie.core.model.ArtifactRecord> artifacts = artifacts(body.get("artifacts"));
        if (attempt < e.attempt()) {
            // a buffered report of an attempt that has ended since: its metrics were cleared or continued by the next
            throw new ApiError(409, "attempt " + attempt + " of experiment " + e.name() + " is over (it is at attempt " + e.attempt()
                    + "); nothing of this report was recorded", "attempt");
        }

        long logSize;
        synchronized (locks.computeIfAbsent(e.id(), k -> new Object())) {
            logSize = writeLogs(ctx, e, attempt, logs);
            if (logSize < 0) {
                return; // refused: a gap
            }
            if (!points.isEmpty()) {
                context.ledger().recordMetrics(e.id(), points);
            }
            if (!artifacts.isEmpty()) {
                context.ledger().recordArtifacts(e.id(), artifacts);
            }
        }
        Experiment now = e;
        if (state != null && state.isTerminal()) {
            now = context.service().find(e.id()); // as it is now, not as it was when the report came in
        }
        if (state != null && state.isTerminal() && now.status() == ExperimentStatus.RUNNING && now.attempt() == attempt) {
            Experiment ended = now.ended(state, Instant.now(), exitCode, error);
            if (context.ledger().update(ended, ExperimentStatus.RUNNING)) {
                now = ended;
            } else {
                now = context.service().find(e.id()); // someone else (a stop) decided first; theirs stands
            }
        }
        if (tracked && now.status().isTerminal()) {
            liveness.ended(e.id());
        }
        ObjectNode out = Json.object();
        out.put("experiment", e.id());
        out.put("attempt", attempt);
        out.put("status", now.status().label());
        if (now.status().isTerminal()) {
            out.put("error", now.error()); // why it ended: a tracked run's SDK says so when the server ended it (a stop, lost)
        }
        out.put("log_size", logSize);
        out.put("points", points.size());
        ApiServer.json(ctx, out);
    }

    /** Writes the chunks at their offsets; -1 (and a 409 answered) when one starts past the end of the log. */
    private long writeLogs(Context ctx, Experiment e, int attempt, List<LogChunk> chunks) throws IOException {
        Path log = context.paths().logFile(e.id(), attempt);
        long size = Files.isRegularFile(log) ? Files.size(log) : 0;
        long end = size;
        for (int i = 0; i < chunks.size(); i++) {
            LogChunk c = chunks.get(i);
            if (c.offset() > end) {
                ObjectNode err = Json.object().put("error", "log chunk at offset " + c.offset() + " leaves a gap: the log of attempt " + attempt
                        + " has " + size + " bytes; send from offset " + size + " (nothing of this report was recorded)");
                err.put("field", "logs[" + i + "].offset");
                err.put("log_size", size);
                ctx.status(409);
                ApiServer.json(ctx, err);
                return -1;
            }
            end = Math.max(end, c.offset() + c.bytes().length);
        }
        if (end == size) {
            return size;
        }
        Files.createDirectories(log.getParent());
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
            long at = f.length();
            for (LogChunk c : chunks) {
                long chunkEnd = c.offset() + c.bytes().length;
                if (chunkEnd <= at) {
                    continue; // already there: a resent chunk
                }
                int skip = (int) (at - c.offset());
                f.seek(at);
                f.write(c.bytes(), skip, c.bytes().length - skip);
                at = chunkEnd;
            }
            return at;
        }
    }

    private static List<LogChunk> logs(JsonNode logs) {
        List<LogChunk> out = new ArrayList<>();
        if (logs == null || logs.isNull()) {
            return out;
        }
        if (!logs.isArray() || logs.size() > MAX_ITEMS) {
            throw ApiError.badRequest("logs", "'logs' must be an array (at most " + MAX_ITEMS + ") of {\"offset\": N, \"text\": \"...\"}");
        }
        for (int i = 0; i < logs.size(); i++) {
            JsonNode c = logs.get(i);
            String f = "logs[" + i + "]";
            if (!c.isObject()) {
                throw ApiError.badRequest(f, f + " must be an object {\"offset\": N, \"text\": \"...\"}");
            }
            JsonNode off = c.get("offset");
            if (off == null || !off.isIntegralNumber() || off.asLong() < 0) {
                throw ApiError.badRequest(f + ".offset", f + ".offset must be the chunk's byte offset in the log, a whole number from 0");
            }
            JsonNode text = c.get("text");
            if (text == null || !text.isTextual()) {
                throw ApiError.badRequest(f + ".text", f + ".text must be a string");
            }
            out.add(new LogChunk(off.asLong(), text.asText().getBytes(StandardCharsets.UTF_8)));
        }
        out.sort(Comparator.comparingLong(LogChunk::offset));
        return out;
    }

    /**
     * A point's value: a JSON number, or one of the strings JSON has for what it has no number for, {@code "NaN"},
     * {@code "Infinity"} and {@code "-Infinity"} (as the events file and the SDKs and agents write them): a diverging
     * loss is recorded as NaN, as a local run records it, rather than dropped or its whole report refused.
     */
    static double value(JsonNode v, String field) {
        if (v != null && v.isNumber()) {
            return v.asDouble();
        }
        if (v != null && v.isTextual()) {
            switch (v.asText()) {
                case "NaN":
                    return Double.NaN;
                case "Infinity":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity":
                    return Double.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw ApiError.badRequest(field, field + " must be a number, or \"NaN\", \"Infinity\" or \"-Infinity\"");
    }

    /**
     * Files the run saved, whose bytes were uploaded first ({@code PUT /blobs/{hash}/upload}, as {@code sortie push}
     * sends them): {@code [{"path": "model.pt", "hash": HASH, "size": N, "kind": "artifact"}]}. A blob the store does not
     * have is refused (nothing of the report recorded): the record never names bytes that are not there.
     */
    private List<dev.sortie.core.model.ArtifactRecord> artifacts(JsonNode arr) throws IOException {
        List<dev.sortie.core.model.ArtifactRecord> out = new ArrayList<>();
        if (arr == null || arr.isNull()) {
            return out;
        }
        if (!arr.isArray() || arr.size() > MAX_ITEMS) {
            throw ApiError.badRequest("artifacts", "'artifacts' must be an array (at most " + MAX_ITEMS + ") of {path, hash, size, kind}");
        }
        for (int i = 0; i < arr.size(); i++) {
            JsonNode a = arr.get(i);
            String f = "artifacts[" + i + "]";
            String path = a.path("path").isTextual() ? a.get("path").asText() : "";
            if (path.isEmpty() || path.length() > 1000 || path.startsWith("/") || path.chars().anyMatch(ch -> ch < 0x20)
                    || List.of(path.split("/")).contains("..")) {
                throw ApiError.badRequest(f + ".path", f + ".path must be a relative path with '/' separators (no '..', no control characters)");
            }
            String hash = a.path("hash").asText();
            if (!HASH.matcher(hash).matches()) {
                throw ApiError.badRequest(f + ".hash", f + ".hash must be the blob's hash (lowercase hex)");
            }
            if (!context.store().contains(hash)) {
                throw ApiError.badRequest(f + ".hash", "the store has no blob " + hash + ": upload it first (PUT /blobs/" + hash + "/upload)");
            }
            dev.sortie.core.model.ArtifactKind kind;
            try {
                kind = dev.sortie.core.model.ArtifactKind.valueOf(a.path("kind").asText("artifact").toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException ex) {
                throw ApiError.badRequest(f + ".kind", f + ".kind must be artifact or checkpoint");
            }
            out.add(new dev.sortie.core.model.ArtifactRecord(kind, path, hash, context.store().size(hash), Instant.now()));
        }
        return out;
    }

    private static void metrics(JsonNode arr, String field, boolean system, List<MetricPoint> out) {
        if (arr == null || arr.isNull()) {
            return;
        }
        if (!arr.isArray() || arr.size() > MAX_ITEMS) {
            throw ApiError.badRequest(field, "'" + field + "' must be an array (at most " + MAX_ITEMS + ") of points");
        }
        for (int i = 0; i < arr.size(); i++) {
            JsonNode p = arr.get(i);
            String f = field + "[" + i + "]";
            if (!p.isObject()) {
                throw ApiError.badRequest(f, f + " must be an object {\"key\": ..., " + (system ? "" : "\"step\": N, ") + "\"value\": X}");
            }
            String key = p.path("key").isTextual() ? p.get("key").asText() : null;
            if (key == null || key.isEmpty() || key.length() > 200 || key.chars().anyMatch(ch -> ch < 0x20)) {
                throw ApiError.badRequest(f + ".key", f + ".key must be a metric name (1 to 200 characters, no control characters)");
            }
            double value = value(p.get("value"), f + ".value");
            Instant time = null;
            if (p.hasNonNull("time")) {
                try {
                    time = Instant.parse(p.get("time").asText());
                } catch (DateTimeParseException ex) {
                    throw ApiError.badRequest(f + ".time", f + ".time must be an ISO-8601 UTC time, e.g. 2026-01-31T12:00:00Z");
                }
            }
            if (system) {
                if (time == null) {
                    throw ApiError.badRequest(f + ".time", f + ".time is needed: a system metric is keyed by its time");
                }
                out.add(new MetricPoint(SYSTEM_PREFIX + key, time.toEpochMilli(), value, time));
            } else {
                JsonNode step = p.get("step");
                if (step == null || !step.isIntegralNumber() || step.asLong() < 0) {
                    throw ApiError.badRequest(f + ".step", f + ".step must be a whole number from 0 (a point is keyed by its key and step)");
                }
                out.add(new MetricPoint(key, step.asLong(), value, time == null ? Instant.now() : time));
            }
        }
    }
}
