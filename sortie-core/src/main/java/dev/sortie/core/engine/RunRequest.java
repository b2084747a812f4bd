package dev.sortie.core.engine;

import dev.sortie.core.params.ParamOverride;
import java.time.Duration;
import java.util.List;

/**
 * What a user asked {@code sortie run} for. Null fields take the defaults: a generated name, the task's
 * {@code run:}, the {@code local} executor (a queued experiment without one runs wherever the queue is drained),
 * the task's timeout and retry policy. {@code stage} names one stage of the project's dvc.yaml to run ({@code sortie run
 * --stage}) instead of the task's {@code run:}.
 */
public record RunRequest(String name, List<ParamOverride> overrides, List<String> argv, String executor, Duration timeout, Integer retries,
                         String stage) {
    public RunRequest {
        overrides = List.copyOf(overrides);
        argv = argv == null || argv.isEmpty() ? null : List.copyOf(argv);
    }

    public RunRequest(String name, List<ParamOverride> overrides, List<String> argv, String executor, Duration timeout, Integer retries) {
        this(name, overrides, argv, executor, timeout, retries, null);
    }
}
