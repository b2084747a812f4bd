package dev.sortie.core.config;

import dev.sortie.core.metrics.MetricPattern;
import dev.sortie.core.params.Params;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The task of a project, as sortie.yaml declares it: what to run, with which params, what to keep.
 * Built only by {@link TaskConfigLoader}, which validates every field.
 *
 * @param params       inline params ({@code params: {lr: 0.1}}), or the params read from {@code paramsFile}
 * @param paramsFile   the file params come from (e.g. DVC's params.yaml), relative to the workdir; null when inline
 * @param metricFiles  metric files relative to the workdir (dvclive's metrics.json and the like)
 * @param retries      how many times an interrupted run (its watcher or host died) is re-queued on its own
 * @param maxRecoveries how many times a run whose machine went away (a spot interruption notice, an instance lost)
 *                     is continued on a replacement from its last checkpoint, by an executor that replaces machines
 * @param data         the data the task reads ({@code data: [data/]}), relative to the workdir: what sizes an aws
 *                     executor's named volume; empty when not declared
 */
public record TaskConfig(
        String name,
        String workdir,
        String setup,
        String run,
        Params params,
        String paramsFile,
        Resources resources,
        List<String> checkpoints,
        List<String> artifacts,
        List<String> metricFiles,
        List<MetricPattern> metricPatterns,
        Duration timeout,
        Duration checkpointInterval,
        int retries,
        int maxRecoveries,
        Map<String, String> env,
        List<String> data) {

    public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(30);
    public static final int DEFAULT_RETRIES = 1;
    /** How many times a run whose machine went away (a spot interruption, a lost instance) is continued by default. */
    public static final int DEFAULT_MAX_RECOVERIES = 3;

    public TaskConfig {
        checkpoints = List.copyOf(checkpoints);
        artifacts = List.copyOf(artifacts);
        metricFiles = List.copyOf(metricFiles);
        metricPatterns = List.copyOf(metricPatterns);
        env = Map.copyOf(env);
        data = data == null ? List.of() : List.copyOf(data);
    }

    /** The task of a project without sortie.yaml: a command given after {@code --}, nothing else. */
    public static TaskConfig adHoc(String name) {
        return new TaskConfig(name, ".", null, null, Params.empty(), null, Resources.NONE, List.of(), List.of(),
                List.of(), List.of(), null, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_RETRIES, DEFAULT_MAX_RECOVERIES, Map.of(), List.of());
    }

    public TaskConfig withParams(Params p) {
        return new TaskConfig(name, workdir, setup, run, p, paramsFile, resources, checkpoints, artifacts, metricFiles,
                metricPatterns, timeout, checkpointInterval, retries, maxRecoveries, env, data);
    }

    public TaskConfig withTimeout(Duration t) {
        return new TaskConfig(name, workdir, setup, run, params, paramsFile, resources, checkpoints, artifacts, metricFiles,
                metricPatterns, t, checkpointInterval, retries, maxRecoveries, env, data);
    }

    public TaskConfig withArtifacts(List<String> a) {
        return new TaskConfig(name, workdir, setup, run, params, paramsFile, resources, checkpoints, a, metricFiles,
                metricPatterns, timeout, checkpointInterval, retries, maxRecoveries, env, data);
    }

    public TaskConfig withRetries(int r) {
        return new TaskConfig(name, workdir, setup, run, params, paramsFile, resources, checkpoints, artifacts, metricFiles,
                metricPatterns, timeout, checkpointInterval, r, maxRecoveries, env, data);
    }
}
