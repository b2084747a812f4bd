package dev.sortie.core.executor;

import java.util.Map;

/**
 * What {@code sortie executor test} was told beyond the executor's name: the values of the test options its type
 * contributed ({@link ExecutorProvider#testOptions()}), by their {@link ExecutorOption#configKey()}.
 */
public record CheckOptions(Map<String, Object> values) {
    public static final CheckOptions NONE = new CheckOptions(Map.of());

    public CheckOptions {
        values = Map.copyOf(values);
    }

    /** Whether the flag option with this key was given. */
    public boolean flag(String key) {
        return Boolean.TRUE.equals(values.get(key));
    }
}
