package dev.sortie.executor.remote.host;

import java.util.List;

/**
 * What a host is, as {@link HostProbe} found it ({@code sortie executor test}). Values the host did not tell are
 * null (numbers: -1).
 *
 * @param diskFreeBytes free space in the filesystem of {@code remoteDir}
 * @param missing   what the host lacks to run Sortie, each with how to fix it; empty when it can
 * @param user      the remote user the probe ran as
 * @param remoteDir the executor's remote_dir, as the host resolved it ({@code ~} expanded)
 * @param gpuError  how nvidia-smi failed when it is installed but did not work, else null
 * @param warnings  what does not stop Sortie from running but will hurt (little disk, a broken GPU driver), with fixes
 */
public record HostReport(
        String target,
        String os,
        String distro,
        String arch,
        int cpus,
        long memoryBytes,
        String home,
        long diskFreeBytes,
        List<Gpu> gpus,
        String javaPath,
        String javaVersion,
        int javaMajor,
        List<String> missing,
        String user,
        String remoteDir,
        String gpuError,
        List<String> warnings) {

    public HostReport {
        gpus = List.copyOf(gpus);
        missing = List.copyOf(missing);
        warnings = List.copyOf(warnings);
    }

    /** One GPU as nvidia-smi lists it. */
    public record Gpu(int index, String name, long memoryMiB) {
    }

    public boolean canRunSortie() {
        return missing.isEmpty();
    }

    /** The report as lines for a terminal. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("host:   ").append(target).append('\n');
        sb.append("os:     ").append(nz(distro)).append(" (").append(nz(os)).append(arch == null ? "" : ", " + arch).append(")\n");
        sb.append("cpus:   ").append(cpus < 0 ? "?" : cpus).append('\n');
        sb.append("memory: ").append(memoryBytes < 0 ? "?" : gib(memoryBytes)).append('\n');
        sb.append("disk:   ").append(diskFreeBytes < 0 ? "?" : gib(diskFreeBytes) + " free").append(" in ")
                .append(remoteDir == null ? nz(home) : remoteDir + " (remote_dir)").append('\n');
        if (gpuError != null) {
            sb.append("gpus:   nvidia-smi failed (see warnings)\n");
        } else if (gpus.isEmpty()) {
            sb.append("gpus:   none (no nvidia-smi)\n");
        } else {
            for (Gpu g : gpus) {
                sb.append("gpu ").append(g.index()).append(":  ").append(g.name()).append(", ").append(g.memoryMiB()).append(" MiB\n");
            }
        }
        sb.append("java:   ").append(javaVersion == null ? "not found" : javaVersion + " (" + javaPath + ")").append('\n');
        if (canRunSortie()) {
            sb.append("ready:  yes, this host can run Sortie\n");
        } else {
            sb.append("ready:  no, missing:\n");
            for (String m : missing) {
                sb.append("  - ").append(m).append('\n');
            }
        }
        if (!warnings.isEmpty()) {
            sb.append("warnings:\n");
            for (String w : warnings) {
                sb.append("  - ").append(w).append('\n');
            }
        }
        return sb.toString();
    }

    private static String nz(String s) {
        return s == null || s.isBlank() ? "?" : s;
    }

    private static String gib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    }
}
