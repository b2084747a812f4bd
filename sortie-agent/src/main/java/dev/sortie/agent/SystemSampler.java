package dev.sortie.agent;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * System metrics of the machine and of one run, for the run supervisor to record every few seconds as
 * {@code sys/...} metrics. Linux only ({@code /proc}); elsewhere, and for anything it cannot read, the keys are
 * simply absent: {@link #sample} never throws.
 *
 * <p>Keys:
 * <ul>
 * <li>{@code sys/cpu_percent}: CPU busy time of the whole machine since the previous sample, normalised to
 *     0..100 (100 = every core busy), from {@code /proc/stat}'s {@code cpu} line (idle = idle + iowait);</li>
 * <li>{@code sys/mem_used_percent}, {@code sys/mem_used_mb}: MemTotal - MemAvailable of {@code /proc/meminfo}
 *     (MemFree + Buffers + Cached on kernels without MemAvailable); MB are MiB. Inside a container this is the
 *     host's memory, not the container's limit;</li>
 * <li>{@code sys/proc_rss_mb}: resident memory (VmRSS, MiB) summed over the live processes of the run's process
 *     group (field {@code pgrp} of {@code /proc/<pid>/stat});</li>
 * <li>{@code sys/proc_cpu_percent}: CPU time (utime + stime) of that group since the previous sample, on the
 *     same scale as {@code sys/cpu_percent}: 0..100 of the whole machine, so a single busy thread on an 8-core
 *     machine reads 12.5;</li>
 * <li>{@code sys/gpu<i>/util_percent}, {@code sys/gpu<i>/mem_used_mb}, {@code sys/gpu<i>/mem_total_mb}: per GPU,
 *     from {@code nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits}
 *     run with a timeout.</li>
 * </ul>
 * The two CPU keys are rates between calls, so they appear from the second call on. The {@code sys/proc_*} keys
 * are absent when no live process of the group is found. Processes that start and end between two samples are
 * not seen; a process first seen in a sample counts with all its CPU time (it started after the previous one).
 *
 * <p>nvidia-smi failing (missing, exit status, garbage, timeout) means no GPU keys for that sample; after
 * {@value #GPU_FAILURES_BEFORE_GIVING_UP} failures in a row, or at once if it cannot be started at all, this sampler stops
 * asking, so a machine without GPUs does not pay for a process per sample.
 *
 * <p>Thread-safe (samples are serialised). A sample costs one read of each {@code /proc/<pid>/stat} (a few
 * milliseconds for a thousand processes) plus one nvidia-smi process when there are GPUs; callers that must not
 * wait for nvidia-smi should sample off their main loop.
 */
public final class SystemSampler {
    private static final System.Logger LOG = System.getLogger(SystemSampler.class.getName());
    static final int GPU_FAILURES_BEFORE_GIVING_UP = 3;
    private static final double MIB_PER_KIB = 1.0 / 1024;
    private static final List<String> SAMPLE_QUERY =
            List.of("--query-gpu=index,utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits");
    private static final List<String> INFO_QUERY =
            List.of("--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits");

    /** A GPU as nvidia-smi names it: its index, its name ("NVIDIA H100 80GB HBM3") and its memory in MiB. */
    public record GpuInfo(int index, String name, long memoryTotalMb) {
    }

    private final Path procRoot;
    private final List<String> nvidiaSmi;
    private final Duration gpuTimeout;

    private long[] lastCpu; // {total, idle} jiffies of the previous sample
    private long lastPgid = Long.MIN_VALUE;
    private Map<String, Long> lastProcTicks = Map.of(); // "pid/starttime" -> utime + stime
    private int gpuFailures;
    private boolean gpuDisabled;

    /**
     * @param procRoot         where proc(5) is mounted ({@code /proc}; a folder of fake files in tests)
     * @param nvidiaSmiCommand the argv that starts nvidia-smi, to which the query options are appended; null or
     *                         empty for no GPU metrics
     * @param gpuTimeout       how long one nvidia-smi call may take before it is killed and the sample goes without
     */
    public SystemSampler(Path procRoot, List<String> nvidiaSmiCommand, Duration gpuTimeout) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.nvidiaSmi = nvidiaSmiCommand == null ? List.of() : List.copyOf(nvidiaSmiCommand);
        this.gpuTimeout = gpuTimeout == null || gpuTimeout.isNegative() || gpuTimeout.isZero() ? Duration.ofSeconds(5) : gpuTimeout;
        this.gpuDisabled = this.nvidiaSmi.isEmpty();
    }

    /** A sampler of this machine: {@code /proc}, nvidia-smi from the PATH (if there is one), 5 s for it to answer. */
    public static SystemSampler forThisMachine() {
        Path smi = findNvidiaSmi();
        return new SystemSampler(Path.of("/proc"), smi == null ? null : List.of(smi.toString()), Duration.ofSeconds(5));
    }

    /** nvidia-smi on the PATH, or null. */
    public static Path findNvidiaSmi() {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            try {
                Path p = Path.of(dir, "nvidia-smi");
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return p;
                }
            } catch (RuntimeException e) {
                // an unusable PATH entry
            }
        }
        return null;
    }

    /** The GPUs of this machine according to nvidia-smi on the PATH; empty without it or when it fails. */
    public static List<GpuInfo> gpus() {
        Path smi = findNvidiaSmi();
        return smi == null ? List.of() : gpus(List.of(smi.toString()), Duration.ofSeconds(10));
    }

    /** The GPUs that {@code nvidiaSmiCommand} reports; empty when it fails. */
    public static List<GpuInfo> gpus(List<String> nvidiaSmiCommand, Duration timeout) {
        if (nvidiaSmiCommand == null || nvidiaSmiCommand.isEmpty()) {
            return List.of();
        }
        String out;
        try {
            out = run(nvidiaSmiCommand, INFO_QUERY, timeout);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "no GPUs listed: {0} failed: {1}", nvidiaSmiCommand, e);
            return List.of();
        }
        if (out == null) {
            return List.of();
        }
        List<GpuInfo> gpus = new ArrayList<>();
        for (String line : out.split("\\R")) {
            String[] f = line.split(",");
            if (f.length < 3) {
                continue;
            }
            try {
                int index = Integer.parseInt(f[0].trim());
                long mem = Math.round(Double.parseDouble(f[f.length - 1].trim()));
                StringBuilder name = new StringBuilder();
                for (int i = 1; i < f.length - 1; i++) {
                    if (i > 1) {
                        name.append(',');
                    }
                    name.append(f[i]);
                }
                gpus.add(new GpuInfo(index, name.toString().trim(), mem));
            } catch (NumberFormatException e) {
                // "[N/A]" or a line that is not data: skip it
            }
        }
        return List.copyOf(gpus);
    }

    /**
     * One sample: the keys described in the class comment, those that could be read. {@code processGroupId} is the
     * run's process group (its leader's pid); 0 or less samples the machine only.
     */
    public synchronized Map<String, Double> sample(long processGroupId) {
        Map<String, Double> m = new LinkedHashMap<>();
        long[] cpu = null;
        try {
            cpu = readCpu();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no CPU sample this time: {0}", e);
            // no /proc/stat
        }
        if (cpu != null && lastCpu != null) {
            long dTotal = cpu[0] - lastCpu[0];
            long dIdle = cpu[1] - lastCpu[1];
            if (dTotal > 0) {
                m.put("sys/cpu_percent", clamp(100.0 * (dTotal - dIdle) / dTotal));
            }
        }
        try {
            memory(m);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no memory sample this time: {0}", e);
            // no /proc/meminfo
        }
        if (processGroupId > 0) {
            try {
                group(m, processGroupId, cpu);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "no sample of process group {0} this time: {1}", String.valueOf(processGroupId), e);
                // /proc unreadable
            }
        } else {
            lastPgid = Long.MIN_VALUE;
            lastProcTicks = Map.of();
        }
        if (cpu != null) {
            lastCpu = cpu;
        }
        try {
            gpu(m);
        } catch (RuntimeException e) {
            gpuFailed();
        }
        return m;
    }

    /** {total, idle} jiffies of all CPUs together, or null. */
    private long[] readCpu() {
        String stat = read(procRoot.resolve("stat"));
        if (stat == null) {
            return null;
        }
        for (String line : stat.split("\n")) {
            if (line.startsWith("cpu ")) {
                String[] f = line.trim().split("\\s+");
                // cpu user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user
                long total = 0;
                for (int i = 1; i < Math.min(f.length, 9); i++) {
                    total += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
                return new long[] {total, idle};
            }
        }
        return null;
    }

    private void memory(Map<String, Double> m) {
        String info = read(procRoot.resolve("meminfo"));
        if (info == null) {
            return;
        }
        Map<String, Long> kb = new HashMap<>();
        for (String line : info.split("\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String[] v = line.substring(colon + 1).trim().split("\\s+");
            try {
                kb.put(line.substring(0, colon).trim(), Long.parseLong(v[0]));
            } catch (NumberFormatException e) {
                // not a number: skip
            }
        }
        Long total = kb.get("MemTotal");
        if (total == null || total <= 0) {
            return;
        }
        Long available = kb.get("MemAvailable");
        if (available == null) {
            available = kb.getOrDefault("MemFree", 0L) + kb.getOrDefault("Buffers", 0L) + kb.getOrDefault("Cached", 0L);
        }
        long used = Math.max(0, total - Math.min(total, available));
        m.put("sys/mem_used_mb", round1(used * MIB_PER_KIB));
        m.put("sys/mem_used_percent", clamp(100.0 * used / total));
    }

    private void group(Map<String, Double> m, long pgid, long[] cpu) {
        if (pgid != lastPgid) {
            lastProcTicks = Map.of();
        }
        Map<String, Long> ticks = new HashMap<>();
        long rssKb = 0;
        long delta = 0;
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(procRoot, p -> isNumber(p.getFileName().toString()))) {
            for (Path d : dirs) {
                String stat = read(d.resolve("stat"));
                if (stat == null) {
                    continue; // gone meanwhile
                }
                long[] s = parseStat(stat);
                if (s == null || s[0] != pgid || s[4] != 0) {
                    continue;
                }
                String key = d.getFileName() + "/" + s[3];
                long t = s[1] + s[2];
                ticks.put(key, t);
                Long before = lastProcTicks.get(key);
                delta += before == null ? t : Math.max(0, t - before);
                rssKb += vmRssKb(d);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "no sample of process group {0} this time, /proc unreadable: {1}", String.valueOf(pgid), e);
            return;
        }
        boolean first = pgid != lastPgid;
        lastPgid = pgid;
        lastProcTicks = ticks;
        if (ticks.isEmpty()) {
            return;
        }
        m.put("sys/proc_rss_mb", round1(rssKb * MIB_PER_KIB));
        if (!first && cpu != null && lastCpu != null && cpu[0] > lastCpu[0]) {
            m.put("sys/proc_cpu_percent", clamp(100.0 * delta / (cpu[0] - lastCpu[0])));
        }
    }

    /**
     * From {@code /proc/<pid>/stat}: {pgrp, utime, stime, starttime, zombie ? 1 : 0}, or null. The command name may
     * hold spaces and parentheses, so the fields are counted from the last ')'.
     */
    static long[] parseStat(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0 || close + 2 > stat.length()) {
            return null;
        }
        String[] f = stat.substring(close + 2).trim().split("\\s+");
        // f[0] state, f[1] ppid, f[2] pgrp, ... f[11] utime, f[12] stime, ... f[19] starttime
        if (f.length < 20) {
            return null;
        }
        try {
            char state = f[0].isEmpty() ? '?' : f[0].charAt(0);
            return new long[] {Long.parseLong(f[2]), Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[19]),
                    state == 'Z' || state == 'X' ? 1 : 0};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private long vmRssKb(Path pidDir) {
        String status = read(pidDir.resolve("status"));
        if (status == null) {
            return 0;
        }
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] v = line.substring(6).trim().split("\\s+");
                try {
                    return Long.parseLong(v[0]);
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0; // kernel threads and zombies have none
    }

    private void gpu(Map<String, Double> m) {
        if (gpuDisabled) {
            return;
        }
        String out;
        try {
            out = run(nvidiaSmi, SAMPLE_QUERY, gpuTimeout);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "GPU sampling off for this run: {0} did not start: {1}", nvidiaSmi, e);
            gpuDisabled = true; // not there, or not executable: asking again will not help
            return;
        }
        if (out == null) {
            gpuFailed();
            return;
        }
        Map<String, Double> g = new LinkedHashMap<>();
        for (String line : out.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",");
            if (f.length < 4) {
                continue;
            }
            int index;
            try {
                index = Integer.parseInt(f[0].trim());
            } catch (NumberFormatException e) {
                continue;
            }
            String p = "sys/gpu" + index + "/";
            putNumber(g, p + "util_percent", f[1]);
            putNumber(g, p + "mem_used_mb", f[2]);
            putNumber(g, p + "mem_total_mb", f[3]);
        }
        if (g.isEmpty()) {
            gpuFailed();
            return;
        }
        gpuFailures = 0;
        m.putAll(g);
    }

    private void gpuFailed() {
        if (++gpuFailures >= GPU_FAILURES_BEFORE_GIVING_UP) {
            gpuDisabled = true;
        }
    }

    /** Whether this sampler still asks nvidia-smi (false without one, or after it kept failing). */
    public synchronized boolean gpuSampling() {
        return !gpuDisabled;
    }

    private static void putNumber(Map<String, Double> m, String key, String raw) {
        try {
            double v = Double.parseDouble(raw.trim());
            if (Double.isFinite(v)) {
                m.put(key, v);
            }
        } catch (NumberFormatException e) {
            // "[N/A]", "[Not Supported]"
        }
    }

    /**
     * Runs {@code command + args} with stdin closed and stderr discarded; its stdout if it exits 0 within
     * {@code timeout}, else null (killed, with its children, when it overruns).
     *
     * @throws IOException when it cannot be started at all
     */
    static String run(List<String> command, List<String> args, Duration timeout) throws IOException {
        List<String> argv = new ArrayList<>(command);
        argv.addAll(args);
        Process p;
        try {
            p = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (RuntimeException e) {
            throw new IOException(e);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] b = new byte[8192];
                int n;
                while ((n = in.read(b)) >= 0) {
                    synchronized (buf) {
                        if (buf.size() < 1 << 20) {
                            buf.write(b, 0, n);
                        }
                    }
                }
            } catch (IOException e) {
                // killed: the pipe closed
            }
        }, "sortie-nvidia-smi-reader");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                return null;
            }
            // the process is gone; its output is at most a pipe's worth behind
            reader.join(Math.min(1000, Math.max(100, timeout.toMillis())));
            if (p.exitValue() != 0 || reader.isAlive()) {
                return null;
            }
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            return null;
        }
        synchronized (buf) {
            return buf.toString(StandardCharsets.UTF_8);
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static double clamp(double percent) {
        return Math.max(0, Math.min(100, round1(percent)));
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
