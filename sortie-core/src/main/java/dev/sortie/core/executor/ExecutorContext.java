package dev.sortie.core.executor;

import dev.sortie.core.store.BlobStore;
import java.nio.file.Path;
import java.util.Map;

/**
 * What an executor gets from the project it serves: where the project is, the store artifacts go to, and the
 * other executors configured beside it (by name, a read-only view), so an executor made of others (a pool of
 * ssh hosts) can resolve the names it lists.
 */
public record ExecutorContext(Path projectDir, Path stateDir, BlobStore store, Map<String, ExecutorSpec> executors) {

    public ExecutorContext {
        executors = executors == null ? Map.of() : executors;
    }

    public ExecutorContext(Path projectDir, Path stateDir, BlobStore store) {
        this(projectDir, stateDir, store, Map.of());
    }

    /** The same context, with the configured executors to resolve names against. */
    public ExecutorContext withExecutors(Map<String, ExecutorSpec> executors) {
        return new ExecutorContext(projectDir, stateDir, store, executors);
    }
}
