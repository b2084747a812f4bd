package dev.sortie.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PreparedRun;
import dev.sortie.core.engine.RunRequest;
import dev.sortie.core.ledger.Condition;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.SeriesSpan;
import dev.sortie.core.params.ParamOverride;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The experiments routes of the API (API.md): list, one, its metric series, its log, its artifacts; queue, stop, retry. */
final class ExperimentsApi {
    static final int DEFAULT_LIMIT = 50;
    /** The metric the executors that know prices record a run's cost in (the aws executor's CostListener). */
    static final String COST_METRIC = "cost_usd";
    static final int MAX_LIMIT = 1000;
    static final int DEFAULT_POINTS = 1000;
    static final int MAX_POINTS = 100_000;
    static final Duration DEFAULT_WAIT = Duration.ofSeconds(20);
    static final Duration MAX_WAIT = Duration.ofSeconds(60);
    static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final Set<String> CREATE_FIELDS = Set.of("from", "command", "task", "params", "executor", "name", "timeout", "retries");

    private final ServerContext context;

    ExperimentsApi(ServerContext context) {
        this.context = context;
    }

    void register(Javalin app) {
        String p = ApiServer.PREFIX + "/experiments";
        app.get(p, this::list);
        app.post(p, this::create);
        app.get(p + "/{id}", this::one);
        app.get(p + "/{id}/metrics/{key}", this::series);
        app.get(ApiServer.PREFIX + "/series", this::seriesOfSeveral);
        app.get(p + "/{id}/logs", this::logs);
        app.get(p + "/{id}/artifacts", this::artifacts);
        app.get(p + "/{id}/artifacts/{hash}", this::download);
        app.post(p + "/{id}/stop", this::stop);
        app.post(p + "/{id}/retry", this::retry);
        app.get(p + "/{id}/code-diff/{other}", this::codeDiff);
    }

    /**
     * The code diff from experiment {@code id}'s snapshot to {@code other}'s, as {@code git diff} prints it, made from
     * the server's repository (where the runs it launched snapshot their code): {@code sortie diff} through a server.
     * 404 naming the experiment when one has no snapshot or its snapshot is not here (a pushed run's code stays on the
     * machine that pushed it).
     */
    private void codeDiff(Context ctx) {
        Experiment a = find(ctx);
        Experiment b = context.service().find(ctx.pathParam("other"));
        String from = snapshot(a);
        String to = snapshot(b);
        java.io.ByteArrayOutputStream diff = new java.io.ByteArrayOutputStream();
        if (!from.equals(to)) {
            try {
                context.service().snapshots().diff(from, to, diff);
            } catch (IOException | RuntimeException e) {
                throw new ApiError(404, "the code snapshots of " + a.name() + " (" + from + ") and " + b.name() + " (" + to
                        + ") are not both in the server's repository (" + e.getMessage() + "); a pushed run's snapshot stays where it was pushed from", null);
            }
        }
        ApiServer.json(ctx, Json.object().put("from", from).put("to", to).put("diff", diff.toString(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static String snapshot(Experiment e) {
        if (e.code() == null || e.code().snapshotCommit() == null) {
            throw new ApiError(404, "experiment " + e.name() + " has no code snapshot (a run tracked from an SDK, or one made before snapshots)", null);
        }
        return e.code().snapshotCommit();
    }

    private void list(Context ctx) {
        int limit = intParam(ctx, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT);
        int offset = intParam(ctx, "offset", 0, 0, Integer.MAX_VALUE);
        String cursor = ctx.queryParam("cursor");
        if (cursor != null) {
            offset = parseInt("cursor", cursor, 0, Integer.MAX_VALUE); // the cursor is the next_offset of the page before
        }
        List<Condition> filters = new ArrayList<>();
        for (String f : ctx.queryParams("filter")) {
            try {
                filters.add(Condition.parse(f));
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("filter", e.getMessage().replace("--filter", "filter"));
            }
        }
        String sort = ctx.queryParam("sort");
        String order = ctx.queryParam("order");
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw ApiError.badRequest("order", "order '" + order + "': expected asc or desc");
        }
        if (sort != null && !sort.matches("[A-Za-z0-9_.:/\\-]+")) {
            throw ApiError.badRequest("sort", "sort '" + sort + "': expected a column: a built-in (" + String.join(", ", TableQuery.BUILTINS)
                    + "), params.KEY, metrics.KEY or a param or metric name");
        }
        List<String> columns = null;
        String cols = ctx.queryParam("columns");
        if (cols != null && !cols.isBlank()) {
            columns = List.of(cols.split(","));
        }
        TablePage page = context.ledger().tablePage(new TableQuery(filters, sort, "desc".equals(order), limit, offset));
        ObjectNode out = Json.object();
        out.put("total", page.total());
        out.put("offset", offset);
        out.put("limit", limit);
        int next = offset + page.rows().size();
        if (next < page.total()) {
            out.put("next_offset", next);
        } else {
            out.putNull("next_offset");
        }
        ArrayNode rows = out.putArray("experiments");
        for (ExperimentView v : page.rows()) {
            ObjectNode row = Json.experiment(v.experiment(), v.metrics());
            if (columns != null) {
                ObjectNode values = Json.object();
                for (String c : columns) {
                    values.set(c, column(row, c.trim()));
                }
                row = Json.object().put("id", v.experiment().id()).put("name", v.experiment().name());
                row.set("values", values);
            }
            rows.add(row);
        }
        ApiServer.json(ctx, out);
    }

    /** A column of a row: a built-in, params.KEY (dots walk nested params), metrics.KEY, or a bare param or metric name. */
    private static JsonNode column(ObjectNode row, String c) {
        if (c.startsWith("metrics.")) {
            return row.path("metrics").path(c.substring(8)).isMissingNode() ? null : row.path("metrics").get(c.substring(8));
        }
        if (c.startsWith("params.")) {
            return param(row.path("params"), c.substring(7));
        }
        if (c.equals("duration")) {
            return row.get("duration_s"); // the list sorts by 'duration'; the record names it with its unit
        }
        if (row.has(c) && !c.equals("params") && !c.equals("metrics")) {
            return row.get(c);
        }
        JsonNode p = param(row.path("params"), c);
        return p != null ? p : row.path("metrics").get(c);
    }

    private static JsonNode param(JsonNode params, String dotted) {
        JsonNode n = params;
        for (String part : dotted.split("\\.")) {
            n = n.path(part);
        }
        return n.isMissingNode() ? null : n;
    }

    private Experiment find(Context ctx) {
        return context.service().find(ctx.pathParam("id"));
    }

    private void one(Context ctx) {
        Experiment e = find(ctx);
        Map<String, Double> metrics = context.ledger().latestMetrics(e.id());
        ObjectNode n = Json.experiment(e, metrics);
        n.set("code", Json.code(e));
        ObjectNode where = n.putObject("where");
        where.put("executor", e.executor());
        where.put("host", e.handle() == null ? null : e.handle().host());
        if (e.handle() != null) {
            long pid = context.executors().describe(e.handle()).pid();
            if (pid > 0) {
                where.put("pid", pid);
            }
        }
        ArrayNode attempts = n.putArray("attempts");
        context.ledger().attempts(e.id()).forEach(a -> attempts.add(Json.attempt(a)));
        // what the run cost, where its executor records it (aws: the metric cost_usd, written when the command exits)
        Json.number(n, "cost_usd", metrics.get(COST_METRIC));
        ApiServer.json(ctx, n);
    }

    private void series(Context ctx) {
        Experiment e = find(ctx);
        String key = ctx.pathParam("key");
        int points = intParam(ctx, "points", DEFAULT_POINTS, 4, MAX_POINTS);
        long total = context.ledger().seriesSpan(e.id(), key).map(SeriesSpan::points).orElse(0L);
        List<MetricPoint> shown;
        if (total <= points) {
            shown = context.ledger().series(e.id(), key);
            total = shown.size(); // points recorded since the span was read
        } else {
            // a long series: each rollup bucket's extremes (a quarter of the points asked for or fewer buckets), cut
            // to the points asked for; the global extremes, first and last survive both cuts
            SeriesSpan span = context.ledger().seriesSpan(e.id(), key).orElseThrow();
            long width = Downsample.gridWidth(span.firstStep(), span.lastStep(), Math.max(1, points / 4));
            shown = Downsample.minMax(context.ledger().seriesExtremes(e.id(), key, width), points);
        }
        ObjectNode out = Json.object();
        out.put("experiment", e.id());
        out.put("key", key);
        out.put("total_points", total);
        out.put("downsampled", shown.size() < total);
        ArrayNode arr = out.putArray("points");
        shown.forEach(p -> arr.add(Json.point(p)));
        ApiServer.json(ctx, out);
    }

    /** The most experiments one {@code GET /series} compares. */
    static final int MAX_COMPARED = 200;
    static final int DEFAULT_BUCKETS = 150;
    static final int MAX_BUCKETS = 5_000;

    /**
     * One metric of several experiments on one grid of steps ({@link Downsample#aligned}): the compare page draws a
     * chart per metric from one request each, however many experiments and points.
     */
    private void seriesOfSeveral(Context ctx) {
        String key = ctx.queryParam("key");
        if (key == null || key.isBlank()) {
            throw ApiError.badRequest("key", "key: expected the metric's key, e.g. key=loss");
        }
        String ids = ctx.queryParam("experiments");
        List<String> wanted = ids == null ? List.of() : java.util.Arrays.stream(ids.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        if (wanted.isEmpty() || wanted.size() > MAX_COMPARED) {
            throw ApiError.badRequest("experiments", "experiments: expected 1 to " + MAX_COMPARED + " experiment ids or names, comma-separated, got "
                    + wanted.size());
        }
        int buckets = intParam(ctx, "buckets", DEFAULT_BUCKETS, 2, MAX_BUCKETS);
        List<Experiment> exps = new ArrayList<>();
        List<SeriesSpan> spans = new ArrayList<>();
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        for (String id : wanted) {
            Experiment e = context.service().find(id);
            exps.add(e);
            SeriesSpan span = context.ledger().seriesSpan(e.id(), key).orElse(null);
            spans.add(span);
            if (span != null) {
                lo = Math.min(lo, span.firstStep());
                hi = Math.max(hi, span.lastStep());
            }
        }
        // the grid first, from the spans; then of each series only the rollup rows that fit it (every point when short):
        // cut onto the grid, they give the same lines as every point would
        List<List<MetricPoint>> all = new ArrayList<>();
        long width = lo > hi ? 1 : Downsample.gridWidth(lo, hi, buckets);
        for (int i = 0; i < exps.size(); i++) {
            all.add(spans.get(i) == null ? List.of() : context.ledger().seriesExtremes(exps.get(i).id(), key, width));
        }
        Downsample.Aligned aligned = Downsample.aligned(all, buckets);
        ObjectNode out = Json.object();
        out.put("key", key);
        ArrayNode steps = out.putArray("steps");
        for (double s : aligned.steps()) {
            steps.add(s);
        }
        ArrayNode series = out.putArray("series");
        for (int i = 0; i < exps.size(); i++) {
            ObjectNode one = series.addObject();
            one.put("experiment", exps.get(i).id());
            one.put("name", exps.get(i).name());
            one.put("total_points", spans.get(i) == null ? 0 : spans.get(i).points());
            ArrayNode values = one.putArray("values");
            for (Double v : aligned.values().get(i)) {
                if (v == null) {
                    values.addNull();
                } else {
                    values.add(v);
                }
            }
        }
        ApiServer.json(ctx, out);
    }

    /**
     * The log of an attempt from byte {@code offset}. With {@code follow=true} a request that finds nothing new waits
     * (long poll, up to {@code wait} seconds) until bytes are written or the attempt ends, so a client that asks again
     * from {@code X-Sortie-Next-Offset} sees each line as it is written.
     */
    private void logs(Context ctx) throws IOException, InterruptedException {
        Experiment e = find(ctx);
        int attempt = intParam(ctx, "attempt", e.attempt(), 1, e.attempt());
        long offset = longParam(ctx, "offset", 0);
        boolean follow = Boolean.parseBoolean(ctx.queryParam("follow"));
        int waitSeconds = intParam(ctx, "wait", (int) DEFAULT_WAIT.toSeconds(), 0, (int) MAX_WAIT.toSeconds());
        Path log = context.paths().logFile(e.id(), attempt);
        long deadline = System.nanoTime() + Duration.ofSeconds(waitSeconds).toNanos();
        byte[] bytes = read(log, offset);
        boolean ended = ended(e.id(), attempt);
        while (follow && bytes.length == 0 && !ended && System.nanoTime() < deadline) {
            Thread.sleep(100);
            bytes = read(log, offset);
            ended = ended(e.id(), attempt);
            if (ended) {
                bytes = read(log, offset); // the last lines written before the end
            }
        }
        ctx.header("X-Sortie-Next-Offset", Long.toString(offset + bytes.length));
        ctx.header("X-Sortie-Finished", Boolean.toString(ended));
        ctx.contentType("text/plain; charset=utf-8").result(bytes);
    }

    private boolean ended(String id, int attempt) {
        Experiment now = context.service().find(id);
        return now.attempt() > attempt || now.status().isTerminal();
    }

    private static final int MAX_CHUNK = 4 << 20;

    private static byte[] read(Path log, long offset) throws IOException {
        if (!Files.isRegularFile(log)) {
            return new byte[0];
        }
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            if (offset >= len) {
                return new byte[0];
            }
            byte[] b = new byte[(int) Math.min(MAX_CHUNK, len - offset)];
            f.seek(offset);
            f.readFully(b);
            return b;
        }
    }

    private void artifacts(Context ctx) {
        Experiment e = find(ctx);
        ArrayNode out = Json.array();
        context.ledger().artifacts(e.id()).forEach(a -> out.add(Json.artifact(a)));
        ApiServer.json(ctx, Json.object().put("experiment", e.id()).set("artifacts", out));
    }

    /** A saved file of this experiment, streamed from the store; only hashes the experiment recorded are served. */
    private void download(Context ctx) throws IOException {
        Experiment e = find(ctx);
        String hash = ctx.pathParam("hash");
        ArtifactRecord a = context.ledger().artifacts(e.id()).stream().filter(r -> r.hash().equals(hash)).findFirst()
                .orElseThrow(() -> ApiError.notFound("experiment " + e.name() + " saved no file with hash " + hash));
        InputStream in = context.store().open(a.hash());
        String file = Path.of(a.path()).getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_");
        ctx.header("Content-Disposition", "attachment; filename=\"" + file + "\"");
        ctx.header("Content-Length", Long.toString(a.size()));
        ctx.contentType("application/octet-stream").result(in);
    }

    /**
     * Queues an experiment: a copy of {@code from} with params changed (the web run), or a new one running
     * {@code command} (argv: no shell; {@code ${param}} placeholders are filled with the param, as one argument).
     * Params and names are data: validated, never spliced into a shell.
     */
    private void create(Context ctx) throws IOException {
        JsonNode body = body(ctx);
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!CREATE_FIELDS.contains(f)) {
                throw ApiError.badRequest(f, "unknown field '" + f + "'; valid fields: " + String.join(", ", new java.util.TreeSet<>(CREATE_FIELDS)));
            }
        }
        String name = text(body, "name");
        String executor = text(body, "executor");
        boolean copy = body.has("from");
        boolean task = body.has("task");
        int forms = (copy ? 1 : 0) + (task ? 1 : 0) + (body.has("command") ? 1 : 0);
        if (forms != 1) {
            throw ApiError.badRequest(forms == 0 ? "from" : copy ? (task ? "task" : "command") : "command",
                    "give one of 'from' (an experiment to copy), 'task' (a sortie.yaml's text) or 'command' (argv to run)");
        }
        // a copy's and a task's params replace params they have; a bare command has none, so its params are new
        List<ParamOverride> overrides = overrides(body.get("params"), !copy && !task);
        Experiment queued;
        ExperimentService service = context.service();
        if (copy) {
            for (String f : List.of("timeout", "retries")) {
                if (body.has(f)) {
                    throw ApiError.badRequest(f, "'" + f + "' comes from the copied experiment's task");
                }
            }
            queued = service.queueCopy(text(body, "from"), name, overrides, executor);
        } else if (task) {
            String yaml = text(body, "task");
            if (yaml == null || yaml.isBlank()) {
                throw ApiError.badRequest("task", "'task' must be the text of a sortie.yaml (name, run, params, ...)");
            }
            RunRequest request = new RunRequest(name, overrides, null, executor, duration(body), retries(body));
            try {
                queued = service.queueTask(yaml, List.of(request)).get(0).experiment();
            } catch (dev.sortie.core.config.ConfigException e) {
                throw ApiError.badRequest("task", e.getMessage()); // the task's line and field are in the message
            }
        } else {
            JsonNode cmd = body.get("command");
            if (!cmd.isArray() || cmd.isEmpty()) {
                throw ApiError.badRequest("command", "'command' must be a non-empty array of strings (argv; no shell)");
            }
            List<String> argv = new ArrayList<>();
            for (int i = 0; i < cmd.size(); i++) {
                if (!cmd.get(i).isTextual()) {
                    throw ApiError.badRequest("command[" + i + "]", "'command' must be an array of strings");
                }
                argv.add(cmd.get(i).asText());
            }
            List<PreparedRun> runs = service.prepareAll(List.of(new RunRequest(name, overrides, argv, executor, duration(body), retries(body))), true);
            queued = runs.get(0).experiment();
        }
        ctx.status(201);
        ApiServer.json(ctx, Json.experiment(queued, Map.of()));
    }

    private static Duration duration(JsonNode body) {
        String t = text(body, "timeout");
        if (t == null) {
            return null;
        }
        try {
            return Units.duration(t);
        } catch (RuntimeException ex) {
            throw ApiError.badRequest("timeout", "timeout '" + t + "': expected a duration like 30m or 2h");
        }
    }

    private static Integer retries(JsonNode body) {
        if (!body.hasNonNull("retries")) {
            return null;
        }
        if (!body.get("retries").isIntegralNumber() || !body.get("retries").canConvertToInt() || body.get("retries").asInt() < 0) {
            throw ApiError.badRequest("retries", "'retries' must be a whole number, 0 or more");
        }
        return body.get("retries").asInt();
    }

    /** The params of a request as overrides: scalars only, nested objects as dotted keys; {@code add}: new keys allowed. */
    private static List<ParamOverride> overrides(JsonNode params, boolean add) {
        List<ParamOverride> out = new ArrayList<>();
        if (params == null || params.isNull()) {
            return out;
        }
        if (!params.isObject()) {
            throw ApiError.badRequest("params", "'params' must be an object of param names to values");
        }
        flatten("", params, add, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, boolean add, List<ParamOverride> out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String key = prefix + f.getKey();
            if (!f.getKey().matches("[A-Za-z0-9_][A-Za-z0-9_-]*")) {
                throw ApiError.badRequest("params." + key, "param name '" + f.getKey() + "': use letters, digits, '_' and '-' (nest with objects)");
            }
            JsonNode v = f.getValue();
            if (v.isObject()) {
                flatten(key + ".", v, add, out);
            } else if (v.isTextual() || v.isNumber() || v.isBoolean()) {
                out.add(new ParamOverride(key, v.asText(), add));
            } else {
                throw ApiError.badRequest("params." + key, "param '" + key + "' must be a string, a number or a boolean");
            }
        }
    }

    private void stop(Context ctx) throws IOException {
        Experiment e = find(ctx);
        if (e.status() == dev.sortie.core.model.ExperimentStatus.RUNNING && e.executor().startsWith(TrackedApi.EXECUTOR_PREFIX)
                && dev.sortie.core.engine.TaskSource.fromJson(e.task()).tracked()) {
            // no process of the server's to signal: recorded stopped, the run's SDK learns it from the answer to its
            // next post (at the latest one heartbeat later) and ends the program (see the SDKs' docs)
            Experiment stopped = e.ended(dev.sortie.core.model.ExperimentStatus.STOPPED, java.time.Instant.now(), null, "stopped by user");
            if (!context.ledger().update(stopped, dev.sortie.core.model.ExperimentStatus.RUNNING)) {
                stopped = context.service().find(e.id()); // it ended meanwhile: how it ended stands
            }
            ApiServer.json(ctx, Json.experiment(stopped, context.ledger().latestMetrics(e.id())));
            return;
        }
        Experiment stopped = context.service().stop(e.id(), STOP_GRACE);
        ApiServer.json(ctx, Json.experiment(stopped, context.ledger().latestMetrics(e.id())));
    }

    private void retry(Context ctx) {
        Experiment e = find(ctx);
        Experiment again = context.service().requeue(e.id());
        ApiServer.json(ctx, Json.experiment(again, Map.of()));
    }

    static JsonNode body(Context ctx) {
        JsonNode body;
        try {
            body = Json.MAPPER.readTree(ctx.body());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiError.badRequest("body", "the body is not JSON: " + e.getOriginalMessage());
        }
        if (body == null || !body.isObject()) {
            throw ApiError.badRequest("body", "the body must be a JSON object");
        }
        return body;
    }

    static String text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw ApiError.badRequest(field, "'" + field + "' must be a string");
        }
        return n.asText();
    }

    static int intParam(Context ctx, String name, int dflt, int min, int max) {
        String v = ctx.queryParam(name);
        return v == null ? dflt : parseInt(name, v, min, max);
    }

    static int parseInt(String name, String v, int min, int max) {
        try {
            int i = Integer.parseInt(v.trim());
            if (i < min || i > max) {
                throw ApiError.badRequest(name, name + " " + i + ": expected " + min + " to " + max);
            }
            return i;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name, name + " '" + v + "': expected a whole number");
        }
    }

    static long longParam(Context ctx, String name, long dflt) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return dflt;
        }
        try {
            long l = Long.parseLong(v.trim());
            if (l < 0) {
                throw ApiError.badRequest(name, name + " must be 0 or more");
            }
            return l;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name, name + " '" + v + "': expected a whole number");
        }
    }
}
