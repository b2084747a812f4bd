package dev.sortie.core.executor;

import java.util.Objects;

/**
 * An option an executor type contributes to {@code sortie executor add} (or {@code executor test}): the CLI makes a
 * command-line option of it and, for {@code add}, writes its value under {@code configKey} in the executor's settings,
 * where the type's own validation reads it. Several types may offer the same option (same name, same key): it is
 * shown once, with the types that take it.
 *
 * @param name        the option as typed, e.g. {@code --host}
 * @param paramLabel  what its value is, e.g. {@code HOST} (ignored for a flag)
 * @param description one line for the help, without the type's name
 * @param configKey   the settings key it sets, e.g. {@code host} (for a test option: its key in {@link CheckOptions})
 * @param kind        how its value is read
 */
public record ExecutorOption(String name, String paramLabel, String description, String configKey, Kind kind) {
    /** How an option's value is read and written into the settings. */
    public enum Kind {
        /** A string, written as it is. */
        TEXT,
        /** A whole number, written as a number. */
        INTEGER,
        /** A comma-separated list, written as a list of strings. */
        LIST,
        /** No value: true when given. */
        FLAG
    }

    public ExecutorOption {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(configKey, "configKey");
        Objects.requireNonNull(kind, "kind");
        if (!name.startsWith("--")) {
            throw new IllegalArgumentException("an executor option is a long option (--name): " + name);
        }
    }

    public static ExecutorOption text(String name, String paramLabel, String configKey, String description) {
        return new ExecutorOption(name, paramLabel, description, configKey, Kind.TEXT);
    }

    public static ExecutorOption integer(String name, String paramLabel, String configKey, String description) {
        return new ExecutorOption(name, paramLabel, description, configKey, Kind.INTEGER);
    }

    public static ExecutorOption list(String name, String paramLabel, String configKey, String description) {
        return new ExecutorOption(name, paramLabel, description, configKey, Kind.LIST);
    }

    public static ExecutorOption flag(String name, String configKey, String description) {
        return new ExecutorOption(name, null, description, configKey, Kind.FLAG);
    }
}
