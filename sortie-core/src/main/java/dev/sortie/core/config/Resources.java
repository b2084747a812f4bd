package dev.sortie.core.config;

/**
 * What a task asks of the machine it runs on. Nulls mean "no requirement". Sizes are in bytes.
 *
 * @param gpuModel the GPU model asked for ({@code gpus: A10G:1}), matched against a cloud's GPU names; null: any
 */
public record Resources(Integer gpus, Double cpus, Long memoryBytes, Long diskBytes, boolean spot, String gpuModel) {
    public static final Resources NONE = new Resources(null, null, null, null, false, null);

    public Resources(Integer gpus, Double cpus, Long memoryBytes, Long diskBytes, boolean spot) {
        this(gpus, cpus, memoryBytes, diskBytes, spot, null);
    }
}
