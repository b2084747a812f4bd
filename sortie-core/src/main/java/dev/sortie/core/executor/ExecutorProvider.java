package dev.sortie.core.executor;

/**
 * Builds executors of one type. Implementations are found with {@link java.util.ServiceLoader}: a module adds a
 * type by listing its provider in {@code META-INF/services/dev.sortie.core.executor.ExecutorProvider}.
 */
public interface ExecutorProvider {

    /** The {@code type:} this provider handles, e.g. "local", "ssh", "pool". */
    String type();

    /** Validates {@code spec.options()} (throwing {@link dev.sortie.core.config.ConfigException}) and builds the executor. */
    Executor create(ExecutorSpec spec, ExecutorContext context);
}
