package dev.sortie.cli.access;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.RunRequest;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.params.ParamOverride;
import dev.sortie.core.params.Params;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** A Sortie server's table through its API (sortie-server/API.md): what the commands do after {@code sortie login}. */
public final class RemoteExperiments implements Experiments {
    private final ServerClient client;
    private final Supplier<Path> projectDir;

    /** {@code projectDir}: the project whose sortie.yaml a queued task sends (asked only by {@code run --queue}). */
    public RemoteExperiments(ServerClient client, Supplier<Path> projectDir) {
        this.client = client;
        this.projectDir = projectDir;
    }

    /** The code diff of two experiments' snapshots, made by the server from its repository ({@code GET .../code-diff/...}). */
    public String codeDiff(Experiment from, Experiment to) {
        return client.get("/experiments/" + ServerClient.encode(from.id()) + "/code-diff/" + ServerClient.encode(to.id())).path("diff").asText();
    }

    /** The whole table in one streamed answer (GET /table, NDJSON), each row parsed as it arrives. */
    @Override
    public List<ExperimentView> views() {
        List<ExperimentView> all = new ArrayList<>();
        HttpResponse<java.io.InputStream> r = client.getStream("/table");
        try (java.io.InputStream in = r.body();
             com.fasterxml.jackson.databind.MappingIterator<JsonNode> rows = ServerClient.JSON.readerFor(JsonNode.class).readValues(in)) {
            while (rows.hasNextValue()) {
                JsonNode e = rows.nextValue();
                all.add(new ExperimentView(experiment(e), metrics(e.get("metrics"))));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("reading the table from " + client.url() + " failed: " + e.getMessage(), e);
        }
        long total = r.headers().firstValueAsLong("X-Sortie-Total").orElse(all.size());
        if (total != all.size()) {
            // an answer cut between two rows parses cleanly: the count the server sent first tells
            throw new java.io.UncheckedIOException(new IOException("the table from " + client.url() + " was cut short: " + all.size()
                    + " of " + total + " experiments arrived; try again"));
        }
        return all;
    }

    /** One page of the table as {@code sortie show} asks it, worked out by the server's database, with the table's column names. */
    public record ShowPage(dev.sortie.core.ledger.TableColumns columns, List<ExperimentView> rows) {
    }

    /**
     * The rows that pass {@code filters} (show's expressions), sorted by {@code sortBy} (null: creation order), at most
     * {@code limit} (null: all), each with only the params and metrics of {@code columns} (null: all), from
     * {@code GET /table} with query params: the server's database filters, sorts and cuts, and only the page comes back.
     */
    public ShowPage showPage(List<String> filters, String sortBy, boolean descending, Integer limit, List<String> columns) {
        StringBuilder q = new StringBuilder("/table?order=").append(descending ? "desc" : "asc");
        if (sortBy != null) {
            q.append("&sort=").append(ServerClient.encode(sortBy));
        }
        for (String f : filters) {
            q.append("&filter=").append(ServerClient.encode(f));
        }
        if (limit != null) {
            q.append("&limit=").append(limit);
        }
        if (columns != null && !columns.isEmpty()) {
            q.append("&columns=").append(ServerClient.encode(String.join(",", columns)));
        }
        List<ExperimentView> rows = new ArrayList<>();
        dev.sortie.core.ledger.TableColumns names = null;
        HttpResponse<java.io.InputStream> r = client.getStream(q.toString());
        try (java.io.InputStream in = r.body();
             com.fasterxml.jackson.databind.MappingIterator<JsonNode> lines = ServerClient.JSON.readerFor(JsonNode.class).readValues(in)) {
            if (lines.hasNextValue()) {
                JsonNode c = lines.nextValue().path("columns");
                names = new dev.sortie.core.ledger.TableColumns(strings(c.path("params")), strings(c.path("metrics")), c.path("stages").asBoolean());
            }
            while (lines.hasNextValue()) {
                JsonNode e = lines.nextValue();
                rows.add(new ExperimentView(experiment(e), metrics(e.get("metrics"))));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("reading the table from " + client.url() + " failed: " + e.getMessage(), e);
        }
        long total = r.headers().firstValueAsLong("X-Sortie-Total").orElse(rows.size());
        if (names == null || total != rows.size()) {
            throw new java.io.UncheckedIOException(new IOException("the table from " + client.url() + " was cut short: " + rows.size()
                    + " of " + total + " experiments arrived; try again"));
        }
        return new ShowPage(names, rows);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Override
    public List<AttemptRecord> attempts(String experimentId) {
        List<AttemptRecord> out = new ArrayList<>();
        for (JsonNode a : client.get("/experiments/" + ServerClient.encode(experimentId)).path("attempts")) {
            out.add(new AttemptRecord(a.get("attempt").asInt(), ExperimentStatus.parse(a.get("status").asText()), text(a, "host"),
                    time(a, "started"), time(a, "ended"), integer(a, "exit_code"), text(a, "error")));
        }
        return out;
    }

    @Override
    public Experiment find(String ref) {
        return experiment(client.get("/experiments/" + ServerClient.encode(ref)));
    }

    /** The server stops with its own grace (10 s, API.md); {@code grace} is the local mode's. */
    @Override
    public ExperimentView view(String ref) {
        JsonNode n = client.get("/experiments/" + ServerClient.encode(ref));
        return new ExperimentView(experiment(n), metrics(n.get("metrics")));
    }

    @Override
    public List<ArtifactRecord> artifacts(String experimentId) {
        List<ArtifactRecord> out = new ArrayList<>();
        for (JsonNode a : client.get("/experiments/" + ServerClient.encode(experimentId) + "/artifacts").path("artifacts")) {
            out.add(new ArtifactRecord(ArtifactKind.valueOf(a.get("kind").asText().toUpperCase(java.util.Locale.ROOT)), a.get("path").asText(),
                    a.get("hash").asText(), a.path("size").asLong(), time(a, "saved")));
        }
        return out;
    }

    @Override
    public void download(String experimentId, ArtifactRecord file, Path target) throws IOException {
        HttpResponse<java.io.InputStream> r = client.getStream("/experiments/" + ServerClient.encode(experimentId) + "/artifacts/" + file.hash());
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".sortie-pull");
        try (java.io.InputStream in = r.body()) {
            Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public List<Experiment> queued() {
        List<Experiment> out = new ArrayList<>();
        for (JsonNode e : client.get("/queue").path("experiments")) {
            out.add(experiment(e));
        }
        return out;
    }

    @Override
    public Experiment stop(String ref, Duration grace) {
        return experiment(client.post("/experiments/" + ServerClient.encode(ref) + "/stop", Map.of()));
    }

    @Override
    public Experiment requeue(String ref) {
        return experiment(client.post("/experiments/" + ServerClient.encode(ref) + "/retry", Map.of()));
    }

    @Override
    public List<Experiment> enqueue(List<RunRequest> requests) throws IOException {
        String task = null;
        List<Experiment> queued = new ArrayList<>();
        for (RunRequest r : requests) {
            Map<String, Object> body = new LinkedHashMap<>();
            if (r.argv() != null) {
                body.put("command", r.argv());
            } else {
                if (task == null) {
                    Path file = projectDir.get().resolve(TaskConfigLoader.FILE_NAME);
                    if (!Files.isRegularFile(file)) {
                        throw new dev.sortie.core.config.ConfigException("no " + file + " to queue on " + client.url()
                                + ": give the command after '--' (sortie run --queue -- CMD ...)");
                    }
                    task = Files.readString(file, StandardCharsets.UTF_8);
                }
                body.put("task", task);
            }
            Map<String, Object> params = new LinkedHashMap<>();
            for (ParamOverride o : r.overrides()) {
                params.put(o.key(), ParamOverride.scalar(o.rawValue()));
            }
            body.put("params", params);
            if (r.executor() != null) {
                body.put("executor", r.executor());
            }
            if (r.name() != null) {
                body.put("name", r.name());
            }
            if (r.timeout() != null) {
                body.put("timeout", r.timeout().toSeconds() + "s");
            }
            if (r.retries() != null) {
                body.put("retries", r.retries());
            }
            queued.add(experiment(client.post("/experiments", body)));
        }
        return queued;
    }

    @Override
    public int printLog(String ref, Integer attempt, boolean follow, PrintStream out, PrintStream err) throws Exception {
        Experiment exp = find(ref);
        int n = attempt == null ? exp.attempt() : attempt;
        if (n < 1 || n > exp.attempt()) {
            throw new IllegalArgumentException("--attempt " + n + ": " + exp.name() + " has attempts 1.." + exp.attempt());
        }
        String base = "/experiments/" + ServerClient.encode(exp.id()) + "/logs?attempt=" + n;
        long offset = 0;
        boolean wrote = false;
        // As locally: Ctrl-C, SIGTERM or SIGHUP end the follow (exit 0) and the run goes on; the long poll is cut short.
        java.util.concurrent.atomic.AtomicBoolean letGo = new java.util.concurrent.atomic.AtomicBoolean();
        Thread following = Thread.currentThread();
        Runnable stop = () -> {
            letGo.set(true);
            following.interrupt();
        };
        dev.sortie.cli.commands.Interrupts interrupts = follow ? dev.sortie.cli.commands.Interrupts.install("sortie-logs", stop, stop) : null;
        try {
            while (!letGo.get()) {
                HttpResponse<byte[]> r = client.getBytes(base + "&offset=" + offset + (follow ? "&follow=true&wait=20" : ""),
                        Duration.ofSeconds(90));
                out.write(r.body());
                out.flush();
                wrote |= r.body().length > 0;
                offset = r.headers().firstValueAsLong("X-Sortie-Next-Offset").orElse(offset + r.body().length);
                boolean finished = r.headers().firstValue("X-Sortie-Finished").map("true"::equalsIgnoreCase).orElse(false);
                if (!follow || finished) {
                    break;
                }
            }
        } catch (java.io.UncheckedIOException e) {
            if (!letGo.get()) {
                throw e;
            }
        } finally {
            if (interrupts != null) {
                interrupts.close();
            }
            Thread.interrupted(); // a stop that came after the last answer
        }
        if (letGo.get()) {
            out.flush();
            err.println("[sortie] stopped following " + exp.name() + "; it goes on on the server at " + client.url()
                    + " ('sortie logs -f " + exp.name() + "' follows it again)");
            return 0;
        }
        if (!wrote && !follow) {
            err.println("sortie: " + exp.name() + " has no output yet");
        }
        if (follow) {
            exp = find(exp.id());
            if (n == exp.attempt() && exp.status().isTerminal() && exp.status() != ExperimentStatus.SUCCEEDED) {
                return ExitCodes.EXPERIMENT_FAILED;
            }
        }
        return 0;
    }

    @Override
    public StatusReport status() {
        JsonNode n = client.get("/status");
        List<StatusReport.InFlight> rows = new ArrayList<>();
        for (JsonNode e : n.path("experiments")) {
            String host = text(e, "host");
            dev.sortie.core.executor.LocatorDescription where = host == null ? null
                    : new dev.sortie.core.executor.LocatorDescription(host, e.path("pid").asLong(0));
            rows.add(new StatusReport.InFlight(experiment(e), where, metrics(e.get("metrics"))));
        }
        List<String> executors = new ArrayList<>();
        n.path("executors").forEach(x -> executors.add(x.asText()));
        List<dev.sortie.core.engine.ExecutorInstances.Instance> instances = new ArrayList<>();
        for (JsonNode i : n.path("instances")) {
            instances.add(new dev.sortie.core.engine.ExecutorInstances.Instance(text(i, "executor"), text(i, "type"), text(i, "host"),
                    i.path("running").asLong(), text(i, "state")));
        }
        List<dev.sortie.core.executor.Provisioning.Instance> cloud = new ArrayList<>();
        for (JsonNode i : n.path("cloud_instances")) {
            cloud.add(new dev.sortie.core.executor.Provisioning.Instance(text(i, "id"), text(i, "executor"), text(i, "project"), text(i, "state"),
                    text(i, "type"), i.path("spot").asBoolean(), time(i, "launched"), text(i, "address"), i.path("ready").asBoolean(),
                    i.hasNonNull("price_per_hour_usd") ? i.get("price_per_hour_usd").asDouble() : null));
        }
        List<dev.sortie.core.executor.Provisioning.Volume> volumes = new ArrayList<>();
        for (JsonNode v : n.path("volumes")) {
            volumes.add(new dev.sortie.core.executor.Provisioning.Volume(text(v, "name"), text(v, "id"), text(v, "executor"), text(v, "zone"),
                    v.path("size_gb").asInt(), text(v, "state"), text(v, "attached_to")));
        }
        List<dev.sortie.core.executor.DetachableExecutor.HostSilence> silent = new ArrayList<>();
        for (JsonNode h : n.path("unreachable")) {
            silent.add(new dev.sortie.core.executor.DetachableExecutor.HostSilence(text(h, "host"), text(h, "display"), time(h, "since"),
                    text(h, "reason"), h.hasNonNull("lost_after_s") ? Duration.ofSeconds(h.get("lost_after_s").asLong()) : null));
        }
        List<String> errors = new ArrayList<>();
        n.path("errors").forEach(x -> errors.add(x.asText()));
        List<StatusReport.FailedRecovery> failed = new ArrayList<>();
        for (JsonNode f : n.path("recovery_failed")) {
            failed.add(new StatusReport.FailedRecovery(text(f, "id"), text(f, "name"), f.path("attempt").asInt(), f.path("lost_attempt").asInt(),
                    text(f, "why"), text(f, "log")));
        }
        return new StatusReport(rows, executors, instances, cloud, volumes, silent, List.of(), errors, workers(n.path("workers")), failed);
    }

    private static List<StatusReport.Worker> workers(JsonNode arr) {
        List<StatusReport.Worker> out = new ArrayList<>();
        for (JsonNode w : arr) {
            out.add(new StatusReport.Worker(text(w, "executor"), w.path("jobs").asInt(), w.path("draining").asBoolean()));
        }
        return out;
    }

    /**
     * {@code sortie queue start} through the server: its own queue workers drain the queue; this starts again those a
     * {@code queue stop} drained ({@code executor} null: every one), with {@code jobs} runs at a time (null: as the
     * server was started). What the server answered: its workers, and how many wait and run.
     */
    public QueueState startQueue(String executor, Integer jobs) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (executor != null) {
            body.put("executor", executor);
        }
        if (jobs != null) {
            body.put("jobs", jobs);
        }
        JsonNode n = client.post("/queue/start", body);
        return new QueueState(n.path("queued").asLong(), n.path("running").asLong(), workers(n.path("workers")));
    }

    /** The server's queue after a {@code queue start}. */
    public record QueueState(long queued, long running, List<StatusReport.Worker> workers) {
    }

    @Override
    public List<dev.sortie.core.model.MetricPoint> series(String experimentId, String key) {
        // the whole series where it has up to 100,000 points (the API's most); a longer one comes downsampled by the server,
        // its extremes kept, which a chart of a few hundred pixels cannot tell apart
        JsonNode n = client.get("/experiments/" + ServerClient.encode(experimentId) + "/metrics/" + ServerClient.encode(key) + "?points=100000");
        List<dev.sortie.core.model.MetricPoint> out = new ArrayList<>();
        for (JsonNode p : n.path("points")) {
            out.add(new dev.sortie.core.model.MetricPoint(key, p.path("step").asLong(), p.get("value") == null || p.get("value").isNull()
                    ? Double.NaN : p.get("value").asDouble(), time(p, "time")));
        }
        return out;
    }

    @Override
    public Experiment remove(String ref, boolean force) {
        Experiment e = find(ref);
        client.delete("/experiments/" + ServerClient.encode(e.id()) + (force ? "?force=true" : ""));
        return e;
    }

    @Override
    public boolean removeQueued(Experiment queued) {
        try {
            client.delete("/experiments/" + ServerClient.encode(queued.id()) + "?queued=true");
            return true;
        } catch (IllegalArgumentException claimed) {
            // 409: a worker claimed it first, or it is queued no more: as locally, it is not counted
            return false;
        }
    }

    @Override
    public long stopQueue() {
        return client.post("/queue/stop", Map.of()).path("running").asLong();
    }

    @Override
    public String where() {
        return client.url();
    }

    /** The API's experiment object as the model's record (the command as its display line: the table shows only that). */
    static Experiment experiment(JsonNode n) {
        @SuppressWarnings("unchecked")
        Map<String, Object> params = n.hasNonNull("params") ? ServerClient.JSON.convertValue(n.get("params"), Map.class) : Map.of();
        JsonNode c = n.path("code");
        dev.sortie.core.model.CodeRef code = c.isObject() && c.size() > 0 ? new dev.sortie.core.model.CodeRef(text(c, "base_commit"),
                text(c, "snapshot_commit"), null, c.path("dirty").asBoolean()) : null;
        return new Experiment(n.get("id").asText(), n.get("name").asText(), ExperimentStatus.parse(n.get("status").asText()),
                n.path("executor").asText(""), CommandSpec.shell(n.path("command").asText("")), Params.of(params), code, null,
                time(n, "created"), time(n, "started"), time(n, "ended"), integer(n, "exit_code"), text(n, "error"),
                n.path("attempt").asInt(1), null);
    }

    /** Latest metrics; "NaN", "Infinity" and "-Infinity" are those doubles (asDouble parses them), a null NaN. */
    private static Map<String, Double> metrics(JsonNode m) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (m != null) {
            m.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().isNull() ? Double.NaN : f.getValue().asDouble()));
        }
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Integer integer(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asInt();
    }

    private static Instant time(JsonNode n, String field) {
        String t = text(n, field);
        return t == null ? null : Instant.parse(t);
    }
}
