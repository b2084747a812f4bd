package dev.sortie.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.metrics.MetricLineParser;
import dev.sortie.core.model.ArtifactKind;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The lines of an events file, as the SDKs write them (sdk/PROTOCOL.md): metrics, params, artifacts and the
 * end of a tracked run. Unknown or malformed lines are ignored, so a newer SDK never breaks an older Sortie.
 */
public final class RunEvents {
    private static final System.Logger LOG = System.getLogger(RunEvents.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private RunEvents() {
    }

    /** One event. */
    public sealed interface Event permits Metrics, Params, Artifact, End {
    }

    /** Metric values, at {@code step} (null: each metric's next step). */
    public record Metrics(Long step, Map<String, Double> values) implements Event {
    }

    public record Params(Map<String, Object> values) implements Event {
    }

    public record Artifact(String path, ArtifactKind kind) implements Event {
    }

    /** {@code succeeded} is false for a failed run; {@code error} says why. */
    public record End(boolean succeeded, String error) implements Event {
    }

    public static Optional<Event> parse(String line) {
        if (line.isEmpty() || line.charAt(0) != '{') {
            return Optional.empty();
        }
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "an SDK event line that is not JSON was skipped: {0}", e);
            return Optional.empty();
        }
        if (n == null || !n.isObject()) {
            return Optional.empty();
        }
        switch (n.path("e").asText("")) {
            case "m": {
                JsonNode v = n.get("v");
                if (v == null || !v.isObject()) {
                    return Optional.empty();
                }
                Map<String, Double> values = new LinkedHashMap<>();
                Iterator<Map.Entry<String, JsonNode>> it = v.fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> f = it.next();
                    Double d = f.getValue().isNumber() ? Double.valueOf(f.getValue().asDouble())
                            : f.getValue().isTextual() ? MetricLineParser.number(f.getValue().asText()) : null;
                    if (d != null && !f.getKey().isEmpty()) {
                        values.put(f.getKey(), d);
                    }
                }
                JsonNode s = n.get("s");
                return Optional.of(new Metrics(s != null && s.canConvertToLong() ? s.asLong() : null, values));
            }
            case "p": {
                JsonNode v = n.get("v");
                if (v == null || !v.isObject()) {
                    return Optional.empty();
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> values = JSON.convertValue(v, LinkedHashMap.class);
                return Optional.of(new Params(values));
            }
            case "a": {
                String path = n.path("path").asText("");
                if (path.isEmpty()) {
                    return Optional.empty();
                }
                ArtifactKind kind = "checkpoint".equals(n.path("kind").asText("artifact")) ? ArtifactKind.CHECKPOINT : ArtifactKind.ARTIFACT;
                return Optional.of(new Artifact(path, kind));
            }
            case "end":
                return Optional.of(new End(!"failed".equals(n.path("status").asText("succeeded")),
                        n.hasNonNull("error") ? n.get("error").asText() : null));
            default:
                return Optional.empty();
        }
    }
}
