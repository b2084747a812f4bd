package dev.sortie.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.CodeRef;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.params.Params;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code sortie push}: experiments of a local ledger copied into the server's table, blobs (artifacts, checkpoints)
 * first, by hash, only those the store lacks. Every route can be sent again and changes nothing the second time, so
 * a push cut short is finished by pushing again.
 */
final class PushApi implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PushApi.class.getName());
    private static final java.util.regex.Pattern HASH = java.util.regex.Pattern.compile("[0-9a-f]{16,128}");
    /** An upload nobody added to for this long was given up (its push never came back): its part is deleted. */
    static final java.time.Duration UPLOAD_EXPIRES = java.time.Duration.ofDays(1);
    private final ServerContext context;
    private final java.util.concurrent.ScheduledExecutorService sweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sortie-server-upload-sweeper");
        t.setDaemon(true);
        return t;
    });

    PushApi(ServerContext context) {
        this.context = context;
    }

    /** Deletes the parts of uploads given up, now (at the server's start) and every hour. */
    void startSweeping() {
        sweeper.scheduleWithFixedDelay(this::expireUploads, 0, 1, java.util.concurrent.TimeUnit.HOURS);
    }

    /** Deletes each part in {@code .sortie/uploads/} not written to for {@link #UPLOAD_EXPIRES}; the number deleted. */
    int expireUploads() {
        Path dir = context.paths().stateDir().resolve("uploads");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        java.nio.file.attribute.FileTime before = java.nio.file.attribute.FileTime.from(Instant.now().minus(UPLOAD_EXPIRES));
        int deleted = 0;
        try (var parts = Files.list(dir)) {
            for (Path part : parts.filter(p -> p.getFileName().toString().endsWith(".part")).toList()) {
                String hash = part.getFileName().toString().replaceFirst("\\.part$", "");
                // under the upload's lock: a push adding to it this moment keeps it
                synchronized (uploading.computeIfAbsent(hash, h -> new Object())) {
                    try {
                        if (Files.getLastModifiedTime(part).compareTo(before) < 0 && Files.deleteIfExists(part)) {
                            deleted++;
                            LOG.log(System.Logger.Level.INFO, "deleted {0}: an upload nobody added to for {1} h", part, UPLOAD_EXPIRES.toHours());
                        }
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.WARNING, "the given-up upload " + part + " could not be deleted", e);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the uploads in " + dir + " could not be listed to delete those given up", e);
        }
        return deleted;
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }

    void register(Javalin app) {
        app.post(ApiServer.PREFIX + "/blobs/missing", this::missing);
        app.put(ApiServer.PREFIX + "/blobs/{hash}", this::putBlob);
        app.put(ApiServer.PREFIX + "/experiments/{id}/record", this::putRecord);
        app.get(ApiServer.PREFIX + "/blobs/{hash}/upload", this::uploadState);
        app.put(ApiServer.PREFIX + "/blobs/{hash}/upload", this::uploadPart);
        app.post(ApiServer.PREFIX + "/blobs/{hash}/upload/complete", this::uploadComplete);
    }

    /** Uploads under way lock their part file: two pushes of one blob at once append in turn, each at its offset. */
    private final java.util.concurrent.ConcurrentHashMap<String, Object> uploading = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Where a blob sent in parts is gathered until it is whole: in the server's folder (not the store, which may be
     * S3), so a push cut short (the connection, the server) goes on from the bytes that arrived.
     */
    private Path partFile(String hash) {
        return context.paths().stateDir().resolve("uploads").resolve(hash + ".part");
    }

    private static String hash(Context ctx) {
        String hash = ctx.pathParam("hash");
        if (!HASH.matcher(hash).matches()) {
            throw ApiError.badRequest("hash", "'" + hash + "' is not a blob hash (lowercase hex)");
        }
        return hash;
    }

    private void uploadState(Context ctx) throws IOException {
        String hash = hash(ctx);
        Path part = partFile(hash);
        ApiServer.json(ctx, Json.object().put("hash", hash).put("size", Files.exists(part) ? Files.size(part) : 0)
                .put("stored", context.store().contains(hash)));
    }

    /**
     * A part of a blob at {@code offset}, at most the size received so far (409 with that size beyond it: a gap). A part
     * from before that size is a second push of the same blob at once (or a resend): the bytes the server has are
     * skipped and the rest appended, so the two pushes go on together instead of one failing. The answer's
     * {@code size} is where to send from next; {@code stored} once the blob is whole in the store (nothing to send).
     */
    private void uploadPart(Context ctx) throws IOException {
        String hash = hash(ctx);
        String o = ctx.queryParam("offset");
        long offset;
        try {
            offset = o == null ? -1 : Long.parseLong(o);
        } catch (NumberFormatException e) {
            offset = -1;
        }
        if (offset < 0) {
            throw ApiError.badRequest("offset", "expected offset=N, the bytes of the blob before this part (GET /blobs/" + hash + "/upload says)");
        }
        Path part = partFile(hash);
        synchronized (uploading.computeIfAbsent(hash, h -> new Object())) {
            if (context.store().contains(hash)) {
                // another push of it completed meanwhile
                ctx.bodyInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                ApiServer.json(ctx, Json.object().put("hash", hash).put("size", context.store().size(hash)).put("stored", true));
                return;
            }
            Files.createDirectories(part.getParent());
            long size = Files.exists(part) ? Files.size(part) : 0;
            if (offset > size) {
                ObjectNode n = Json.object().put("error", "the upload of " + hash + " has " + size + " bytes: send the part at offset " + size)
                        .put("field", "offset").put("size", size);
                ctx.status(409);
                ApiServer.json(ctx, n);
                return;
            }
            // written as it arrives: a connection cut mid-part leaves the bytes that came, and the next push goes on from there
            try (InputStream in = ctx.bodyInputStream();
                 java.io.OutputStream out = Files.newOutputStream(part, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)) {
                long have = size - offset; // bytes of this part the server has already (another push sent them)
                while (have > 0) {
                    long skipped = in.skip(have);
                    if (skipped <= 0) {
                        if (in.read() < 0) {
                            break; // the part ends before the bytes the server has
                        }
                        skipped = 1;
                    }
                    have -= skipped;
                }
                in.transferTo(out);
            }
            ApiServer.json(ctx, Json.object().put("hash", hash).put("size", Files.size(part)));
        }
    }

    /** The parts are the blob: stored if their bytes hash to {@code hash}; otherwise dropped (400: upload it again). */
    private void uploadComplete(Context ctx) throws IOException {
        String hash = hash(ctx);
        Path part = partFile(hash);
        synchronized (uploading.computeIfAbsent(hash, h -> new Object())) {
            if (!context.store().contains(hash)) {
                if (!Files.exists(part)) {
                    throw ApiError.notFound("no upload of " + hash + " under way: PUT /blobs/" + hash + "/upload?offset=0 first");
                }
                String stored = context.store().put(part);
                if (!stored.equals(hash)) {
                    Files.deleteIfExists(part);
                    throw ApiError.badRequest("hash", "the uploaded bytes' hash is " + stored + ", not " + hash + ": upload it again from offset 0");
                }
            }
            long size = Files.exists(part) ? Files.size(part) : context.store().size(hash);
            Files.deleteIfExists(part);
            ApiServer.json(ctx, Json.object().put("hash", hash).put("stored", true).put("size", size));
        }
    }

    private void missing(Context ctx) throws IOException {
        JsonNode hashes = body(ctx).get("hashes");
        if (hashes == null || !hashes.isArray()) {
            throw ApiError.badRequest("hashes", "expected {\"hashes\": [HASH, ...]}");
        }
        ArrayNode missing = Json.array();
        for (int i = 0; i < hashes.size(); i++) {
            String h = hashes.get(i).asText();
            if (!HASH.matcher(h).matches()) {
                throw ApiError.badRequest("hashes[" + i + "]", "'" + h + "' is not a blob hash (lowercase hex)");
            }
            if (!context.store().contains(h)) {
                missing.add(h);
            }
        }
        ObjectNode out = Json.object();
        out.set("missing", missing);
        ApiServer.json(ctx, out);
    }

    private void putBlob(Context ctx) throws IOException {
        String hash = ctx.pathParam("hash");
        if (!HASH.matcher(hash).matches()) {
            throw ApiError.badRequest("hash", "'" + hash + "' is not a blob hash (lowercase hex)");
        }
        if (!context.store().contains(hash)) {
            String stored;
            try (InputStream in = ctx.bodyInputStream()) {
                stored = context.store().put(in);
            }
            if (!stored.equals(hash)) {
                throw ApiError.badRequest("hash", "the body's hash is " + stored + ", not " + hash + " (a blob cut short on the way?): send it again");
            }
        }
        ApiServer.json(ctx, Json.object().put("hash", hash).put("stored", true));
    }

    private void putRecord(Context ctx) throws IOException {
        String id = ctx.pathParam("id");
        JsonNode body = body(ctx);
        Experiment pushed = experiment(body.path("experiment"), id);
        List<MetricPoint> metrics = metrics(body.path("metrics"));
        List<ArtifactRecord> artifacts = artifacts(body.path("artifacts"));
        for (int i = 0; i < artifacts.size(); i++) {
            if (!context.store().contains(artifacts.get(i).hash())) {
                throw ApiError.badRequest("artifacts[" + i + "].hash", "the store has no blob " + artifacts.get(i).hash()
                        + ": PUT /blobs/HASH first");
            }
        }
        Optional<Experiment> existing = context.ledger().find(id).filter(e -> e.id().equals(id));
        boolean created = existing.isEmpty();
        if (created) {
            if (context.ledger().nameExists(pushed.name())) {
                throw new ApiError(409, "the server has another experiment named '" + pushed.name() + "': rename one of them", "experiment.name");
            }
            context.ledger().insert(pushed);
        }
        // what follows replaces itself when sent again: points by (key, step), artifacts by (kind, path), logs whole
        if (!metrics.isEmpty()) {
            context.ledger().recordMetrics(id, metrics);
        }
        if (!artifacts.isEmpty()) {
            context.ledger().recordArtifacts(id, artifacts);
        }
        Iterator<Map.Entry<String, JsonNode>> logs = body.path("logs").fields();
        while (logs.hasNext()) {
            Map.Entry<String, JsonNode> log = logs.next();
            int attempt;
            try {
                attempt = Integer.parseInt(log.getKey());
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("logs." + log.getKey(), "expected an attempt number as the key");
            }
            if (attempt < 1 || attempt > pushed.attempt()) {
                throw ApiError.badRequest("logs." + log.getKey(), "attempts are 1.." + pushed.attempt());
            }
            Path file = context.paths().logFile(id, attempt);
            byte[] bytes = log.getValue().asText().getBytes(StandardCharsets.UTF_8);
            if (!Files.exists(file) || Files.size(file) != bytes.length) {
                Files.createDirectories(file.getParent());
                Path tmp = file.resolveSibling(file.getFileName() + ".push");
                Files.write(tmp, bytes);
                Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        }
        ApiServer.json(ctx, Json.object().put("experiment", id).put("created", created));
    }

    private static JsonNode body(Context ctx) {
        try {
            JsonNode n = Json.MAPPER.readTree(ctx.body());
            if (n == null || !n.isObject()) {
                throw ApiError.badRequest(null, "expected a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiError.badRequest(null, "malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static Experiment experiment(JsonNode n, String id) {
        if (!n.isObject()) {
            throw ApiError.badRequest("experiment", "expected the experiment's record");
        }
        if (!id.equals(n.path("id").asText())) {
            throw ApiError.badRequest("experiment.id", "the record's id '" + n.path("id").asText() + "' is not the path's '" + id + "'");
        }
        ExperimentStatus status;
        try {
            status = ExperimentStatus.parse(n.path("status").asText());
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("experiment.status", e.getMessage());
        }
        if (!status.isTerminal()) {
            throw ApiError.badRequest("experiment.status", "only ended experiments are pushed ('" + status.label() + "'): push it when it has ended");
        }
        CommandSpec command;
        if (n.path("argv").isArray()) {
            List<String> argv = new ArrayList<>();
            n.get("argv").forEach(a -> argv.add(a.asText()));
            command = CommandSpec.argv(argv);
        } else {
            command = CommandSpec.shell(n.path("shell").asText(""));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> params = n.path("params").isObject() ? Json.MAPPER.convertValue(n.get("params"), Map.class) : Map.of();
        JsonNode c = n.path("code");
        CodeRef code = c.isObject() ? new CodeRef(text(c, "base_commit"), text(c, "snapshot_commit"), text(c, "ref"), c.path("dirty").asBoolean())
                : null;
        Instant created = time(n, "created", "experiment.created");
        if (created == null) {
            throw ApiError.badRequest("experiment.created", "needed");
        }
        return new Experiment(id, n.path("name").asText(), status, n.path("executor").asText(""), command, Params.of(params), code,
                text(n, "task"), created, time(n, "started", "experiment.started"), time(n, "ended", "experiment.ended"),
                n.hasNonNull("exit_code") ? n.get("exit_code").asInt() : null, text(n, "error"), Math.max(1, n.path("attempt").asInt(1)), null);
    }

    private static List<MetricPoint> metrics(JsonNode arr) {
        List<MetricPoint> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode p = arr.get(i);
            if (!p.path("key").isTextual() || !p.path("step").canConvertToLong()) {
                throw ApiError.badRequest("metrics[" + i + "]", "expected {\"key\", \"step\", \"value\", \"time\"}");
            }
            double v = p.path("value").isNumber() ? p.get("value").asDouble() : Double.NaN;
            out.add(new MetricPoint(p.get("key").asText(), p.get("step").asLong(), v, time(p, "time", "metrics[" + i + "].time")));
        }
        return out;
    }

    private static List<ArtifactRecord> artifacts(JsonNode arr) {
        List<ArtifactRecord> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode a = arr.get(i);
            String hash = a.path("hash").asText();
            if (!HASH.matcher(hash).matches()) {
                throw ApiError.badRequest("artifacts[" + i + "].hash", "'" + hash + "' is not a blob hash");
            }
            ArtifactKind kind;
            try {
                kind = ArtifactKind.valueOf(a.path("kind").asText().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("artifacts[" + i + "].kind", "expected artifact or checkpoint");
            }
            out.add(new ArtifactRecord(kind, a.path("path").asText(), hash, a.path("size").asLong(), time(a, "saved", "artifacts[" + i + "].saved")));
        }
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Instant time(JsonNode n, String field, String where) {
        String t = text(n, field);
        try {
            return t == null ? null : Instant.parse(t);
        } catch (java.time.format.DateTimeParseException e) {
            throw ApiError.badRequest(where, "'" + t + "' is not an ISO-8601 time");
        }
    }
}
