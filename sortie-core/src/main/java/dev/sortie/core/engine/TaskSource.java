package dev.sortie.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.config.Units;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The task as an experiment was created with, kept in its record so a retry runs exactly that: the text of
 * sortie.yaml at the time (null when the command came from the command line alone) and the command-line
 * settings that changed it. {@code queued} says the experiment goes through the queue, so an interrupted attempt
 * is re-queued by the retry policy (a run the user watches in the foreground is left for them to retry).
 * {@code tracked} marks a run started by hand and reported through an SDK ({@code sortie track}): Sortie does not
 * own its process, so it never stops or re-runs it. {@code paramsEdited} marks a copy whose params were changed after
 * its code was snapshotted (the web run: a copy of an experiment with edited params runs the source's snapshot): a
 * task that reads a params file gets that file rewritten with the copy's values when it runs. {@code stage} is the
 * dvc.yaml stage the experiment runs ({@code sortie run --stage}; null when it runs the task), with
 * {@code stageOutputs}: what the run brings back to the user's workspace (dvc.lock, the outs of the stage and of the
 * stages it depends on), saved as its artifacts.
 */
@SuppressWarnings("checkstyle:ParameterNumber")
public record TaskSource(String yaml, String adHocName, Duration timeout, Integer retries, boolean queued, boolean tracked,
                         boolean paramsEdited, String stage, java.util.List<String> stageOutputs) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public TaskSource {
        stageOutputs = stageOutputs == null ? java.util.List.of() : java.util.List.copyOf(stageOutputs);
    }

    public TaskSource(String yaml, String adHocName, Duration timeout, Integer retries, boolean queued, boolean tracked) {
        this(yaml, adHocName, timeout, retries, queued, tracked, false, null, null);
    }

    /** The task as a new experiment gets it: its params read from sortie.yaml or the params file. */
    public TaskConfig resolve(Path projectDir) {
        return apply(yaml == null ? TaskConfig.adHoc(adHocName) : TaskConfigLoader.parse(projectDir, yaml));
    }

    /** The task of a recorded experiment, whose params are in its record: the params file is not read again. */
    public TaskConfig resolveRecorded(Path projectDir) {
        return apply(yaml == null ? TaskConfig.adHoc(adHocName) : TaskConfigLoader.parseRecorded(projectDir, yaml));
    }

    private TaskConfig apply(TaskConfig task) {
        if (timeout != null) {
            task = task.withTimeout(timeout);
        }
        if (!stageOutputs.isEmpty()) {
            java.util.LinkedHashSet<String> artifacts = new java.util.LinkedHashSet<>(task.artifacts());
            artifacts.addAll(stageOutputs);
            task = task.withArtifacts(java.util.List.copyOf(artifacts));
        }
        return retries == null ? task : task.withRetries(retries);
    }

    public TaskSource asQueued() {
        return new TaskSource(yaml, adHocName, timeout, retries, true, tracked, paramsEdited, stage, stageOutputs);
    }

    /** This task, for a copy whose params differ from those its code snapshot's params file holds. */
    public TaskSource withParamsEdited() {
        return new TaskSource(yaml, adHocName, timeout, retries, queued, tracked, true, stage, stageOutputs);
    }

    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("yaml", yaml);
        n.put("name", adHocName);
        n.put("timeout", timeout == null ? null : timeout.getSeconds() + "s");
        if (retries != null) {
            n.put("retries", retries);
        }
        if (queued) {
            n.put("queued", true);
        }
        if (tracked) {
            n.put("tracked", true);
        }
        if (paramsEdited) {
            n.put("params_edited", true);
        }
        if (stage != null) {
            n.put("stage", stage);
            stageOutputs.forEach(n.putArray("stage_outputs")::add);
        }
        return n.toString();
    }

    private static java.util.List<String> strings(JsonNode array) {
        java.util.List<String> out = new java.util.ArrayList<>();
        array.forEach(x -> out.add(x.asText()));
        return out;
    }

    /** The dvc.yaml stage of a task record, or null (also when there is no record: one a server did not send). */
    public static String stageOf(String json) {
        return json == null ? null : fromJson(json).stage();
    }

    public static TaskSource fromJson(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            String t = n.path("timeout").isTextual() ? n.get("timeout").asText() : null;
            return new TaskSource(n.path("yaml").isTextual() ? n.get("yaml").asText() : null,
                    n.path("name").asText("experiment"), t == null ? null : Units.duration(t),
                    n.path("retries").isInt() ? n.get("retries").asInt() : null, n.path("queued").asBoolean(false),
                    n.path("tracked").asBoolean(false), n.path("params_edited").asBoolean(false),
                    n.path("stage").isTextual() ? n.get("stage").asText() : null, strings(n.path("stage_outputs")));
        } catch (Exception e) {
            throw new IllegalStateException("unreadable task record: " + e.getMessage(), e);
        }
    }
}
