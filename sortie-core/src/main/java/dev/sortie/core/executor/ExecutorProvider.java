package dev.sortie.core.executor;

import java.io.IOException;
import java.util.List;

/**
 * Builds executors of one type. Implementations are found with {@link java.util.ServiceLoader}: a module adds a
 * type by listing its provider in {@code META-INF/services/dev.sortie.core.executor.ExecutorProvider}. A type also
 * says how it is configured from the command line ({@link #addOptions()}) and how {@code sortie executor test}
 * checks one ({@link #check}), so the CLI knows no type by name.
 */
public interface ExecutorProvider {

    /** The {@code type:} this provider handles, e.g. "local", "ssh", "pool". */
    String type();

    /** Validates {@code spec.options()} (throwing {@link dev.sortie.core.config.ConfigException}) and builds the executor. */
    Executor create(ExecutorSpec spec, ExecutorContext context);

    /** The options of {@code sortie executor add --type TYPE}, in the order the help shows them; none by default. */
    default List<ExecutorOption> addOptions() {
        return List.of();
    }

    /** An example or two of {@code sortie executor add} for this type, for the help; none by default. */
    default List<String> addExamples() {
        return List.of();
    }

    /** Whether {@code sortie executor add} should suggest {@code sortie executor test} for a new executor of this type. */
    default boolean worthTesting() {
        return !addOptions().isEmpty();
    }

    /** Options of {@code sortie executor test} that only this type takes (e.g. ssh's --accept-new-host-key); none by default. */
    default List<ExecutorOption> testOptions() {
        return List.of();
    }

    /**
     * Checks {@code executor} (built by this provider) for {@code sortie executor test}: connects if it has somewhere
     * to connect to and says whether it can run Sortie's experiments. By default there is nothing to check.
     */
    default ExecutorCheck check(Executor executor, CheckOptions options) throws IOException {
        return ExecutorCheck.ready(executor.name() + ": " + executor.type() + " executor; nothing to check\n");
    }

    /**
     * What users see of a locator this type's executors wrote ({@link dev.sortie.core.model.RunLocator#executorType()}
     * is {@link #type()}): its host, and the command's pid where the type knows one. Only the provider reads the
     * locator's value; by default it shows the host and no pid.
     */
    default LocatorDescription describe(dev.sortie.core.model.RunLocator locator) {
        return new LocatorDescription(locator.host(), 0);
    }
}
