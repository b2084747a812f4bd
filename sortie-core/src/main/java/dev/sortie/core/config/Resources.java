package dev.sortie.core.config;

/** What a task asks of the machine it runs on. Nulls mean "no requirement". Sizes are in bytes. */
public record Resources(Integer gpus, Double cpus, Long memoryBytes, Long diskBytes, boolean spot) {
    public static final Resources NONE = new Resources(null, null, null, null, false);
}
