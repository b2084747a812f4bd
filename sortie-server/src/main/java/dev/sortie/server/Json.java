package dev.sortie.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.Map;

/** The API's JSON shapes (API.md): times as ISO-8601 UTC strings, absent values as null. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static ArrayNode array() {
        return MAPPER.createArrayNode();
    }

    static String time(Instant t) {
        return t == null ? null : t.toString();
    }

    /** An experiment's row: its record, its params (nested, as written) and its latest metrics. */
    static ObjectNode experiment(Experiment e, Map<String, Double> metrics) {
        ObjectNode n = object();
        n.put("id", e.id());
        n.put("name", e.name());
        n.put("status", e.status().label());
        n.put("executor", e.executor());
        n.put("command", e.command().display());
        n.put("created", time(e.createdAt()));
        n.put("started", time(e.startedAt()));
        n.put("ended", time(e.endedAt()));
        java.time.Duration d = e.duration(Instant.now());
        if (d == null) {
            n.putNull("duration_s");
        } else {
            n.put("duration_s", d.toMillis() / 1000.0);
        }
        if (e.exitCode() == null) {
            n.putNull("exit_code");
        } else {
            n.put("exit_code", e.exitCode());
        }
        n.put("error", e.error());
        n.put("attempt", e.attempt());
        n.put("host", e.handle() == null ? null : e.handle().host());
        n.set("params", MAPPER.valueToTree(e.params().asMap()));
        ObjectNode m = n.putObject("metrics");
        metrics.forEach((k, v) -> metricValue(m, k, v));
        return n;
    }

    /**
     * A metric's value: a number, or NaN and the infinities as the strings {@code "NaN"}, {@code "Infinity"} and
     * {@code "-Infinity"} (JSON has no such numbers; the events file and the reports spell them so), so that a
     * diverging loss reads as NaN rather than as no value; null for none.
     */
    static void metricValue(ObjectNode n, String key, Double v) {
        if (v == null) {
            n.putNull(key);
        } else if (v.isNaN()) {
            n.put(key, "NaN");
        } else if (v.isInfinite()) {
            n.put(key, v > 0 ? "Infinity" : "-Infinity");
        } else {
            n.put(key, v);
        }
    }

    static void number(ObjectNode n, String key, Double v) {
        if (v == null || v.isNaN() || v.isInfinite()) {
            n.putNull(key); // JSON has no NaN
        } else {
            n.put(key, v);
        }
    }

    static ObjectNode code(Experiment e) {
        ObjectNode c = object();
        if (e.code() != null) {
            c.put("base_commit", e.code().baseCommit());
            c.put("snapshot_commit", e.code().snapshotCommit());
            c.put("dirty", e.code().dirty());
        }
        return c;
    }

    static ObjectNode attempt(AttemptRecord a) {
        ObjectNode n = object();
        n.put("attempt", a.attempt());
        n.put("status", a.status().label());
        n.put("host", a.host());
        n.put("started", time(a.startedAt()));
        n.put("ended", time(a.endedAt()));
        if (a.exitCode() == null) {
            n.putNull("exit_code");
        } else {
            n.put("exit_code", a.exitCode());
        }
        n.put("error", a.error());
        return n;
    }

    static ObjectNode artifact(ArtifactRecord a) {
        ObjectNode n = object();
        n.put("kind", a.kind().name().toLowerCase(java.util.Locale.ROOT));
        n.put("path", a.path());
        n.put("hash", a.hash());
        n.put("size", a.size());
        n.put("saved", time(a.savedAt()));
        return n;
    }

    static ObjectNode point(MetricPoint p) {
        ObjectNode n = object();
        n.put("step", p.step());
        metricValue(n, "value", p.value());
        n.put("time", time(p.time()));
        return n;
    }
}
