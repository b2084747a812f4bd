package dev.sortie.core.engine;

import dev.sortie.core.params.ParamOverride;
import java.time.Duration;
import java.util.List;

/**
 * What a user asked {@code sortie run} for. Null fields take the defaults: a generated name, the task's
 * {@code run:}, the {@code local} executor, the task's timeout.
 */
public record RunRequest(String name, List<ParamOverride> overrides, List<String> argv, String executor, Duration timeout) {
    public RunRequest {
        overrides = List.copyOf(overrides);
        argv = argv == null || argv.isEmpty() ? null : List.copyOf(argv);
    }
}
