package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemSamplerTest {
    @TempDir
    Path tmp;
    Path proc;

    @BeforeEach
    void setUp() throws Exception {
        proc = tmp.resolve("proc");
        Files.createDirectories(proc.resolve("self"));
        Files.createDirectories(proc.resolve("sys"));
    }

    private void write(String path, String content) throws Exception {
        Path p = proc.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.US_ASCII);
    }

    /** A /proc/PID/stat line as Linux writes it (52 fields). */
    private static String stat(long pid, String comm, char state, long pgrp, long utime, long stime, long start) {
        StringBuilder sb = new StringBuilder();
        sb.append(pid).append(" (").append(comm).append(") ").append(state).append(" 1 ").append(pgrp).append(' ').append(pgrp)
                .append(" 0 -1 4194560 100 0 0 0 ").append(utime).append(' ').append(stime).append(" 7 3 20 0 4 0 ").append(start)
                .append(" 123456789 2500");
        for (int i = 24; i <= 52; i++) {
            sb.append(" 0");
        }
        return sb.append('\n').toString();
    }

    private void process(long pid, String comm, char state, long pgrp, long utime, long stime, long start, Long rssKb) throws Exception {
        write(pid + "/stat", stat(pid, comm, state, pgrp, utime, stime, start));
        write(pid + "/status", "Name:\t" + comm + "\nState:\t" + state + "\n"
                + (rssKb == null ? "" : "VmRSS:\t  " + rssKb + " kB\n") + "Threads:\t4\n");
    }

    private void cpu(long user, long system, long idle, long iowait) throws Exception {
        write("stat", "cpu  " + user + " 0 " + system + " " + idle + " " + iowait + " 0 0 0 0 0\n"
                + "cpu0 1 2 3 4 5 6 7 8 9 10\nintr 12345\nctxt 999\n");
    }

    private Path script(String name, String body) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void machineAndProcessGroupFromFakeProc() throws Exception {
        cpu(100, 100, 700, 100);
        write("meminfo", "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\nBuffers:  10 kB\n");
        process(100, "python train.py", 'S', 100, 50, 10, 5000, 102400L);
        process(101, "pt_data_worker) R 1 100 (x", 'R', 100, 20, 0, 5001, 51200L); // a nasty comm
        process(102, "defunct", 'Z', 100, 99, 99, 5002, null); // a zombie of the group
        process(200, "other", 'S', 200, 500, 500, 10, 999999L); // another group
        process(300, "kthreadd", 'S', 0, 0, 0, 1, null);

        SystemSampler s = new SystemSampler(proc, null, Duration.ofSeconds(1));
        Map<String, Double> first = s.sample(100);
        assertThat(first).doesNotContainKeys("sys/cpu_percent", "sys/proc_cpu_percent"); // rates need two samples
        assertThat(first.get("sys/mem_used_mb")).isCloseTo(11718.8, Offset.offset(0.01));
        assertThat(first.get("sys/mem_used_percent")).isEqualTo(75.0);
        assertThat(first.get("sys/proc_rss_mb")).isEqualTo(150.0);
        assertThat(first.keySet()).noneMatch(k -> k.startsWith("sys/gpu"));

        // 1000 jiffies later: 300 busy (30 %); the group used 120 (leader) + 40 (a new worker) + 5 (pid 101 reused)
        cpu(300, 200, 1300, 200);
        process(100, "python train.py", 'S', 100, 150, 30, 5000, 204800L);
        process(101, "recycled pid", 'R', 100, 5, 0, 9000, 1024L);
        process(103, "worker", 'R', 100, 40, 0, 8000, 10240L);
        Map<String, Double> second = s.sample(100);
        assertThat(second.get("sys/cpu_percent")).isEqualTo(30.0);
        assertThat(second.get("sys/proc_cpu_percent")).isEqualTo(16.5);
        assertThat(second.get("sys/proc_rss_mb")).isEqualTo(211.0);

        // another group: its first sample has no rate; a group with no process has no proc keys at all
        cpu(400, 300, 1500, 200);
        assertThat(s.sample(200)).containsKey("sys/proc_rss_mb").doesNotContainKey("sys/proc_cpu_percent")
                .containsEntry("sys/cpu_percent", 50.0);
        assertThat(s.sample(4242)).doesNotContainKeys("sys/proc_rss_mb", "sys/proc_cpu_percent");
        assertThat(s.sample(0)).containsKey("sys/mem_used_mb").doesNotContainKey("sys/proc_rss_mb");
    }

    @Test
    void memAvailableMissingFallsBackAndMissingFilesAreNoKeys() throws Exception {
        write("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\n");
        SystemSampler s = new SystemSampler(proc, null, Duration.ofSeconds(1));
        Map<String, Double> m = s.sample(1);
        assertThat(m).containsEntry("sys/mem_used_percent", 50.0).doesNotContainKey("sys/cpu_percent");

        SystemSampler nothing = new SystemSampler(tmp.resolve("no-such-proc"), List.of(tmp.resolve("no-such-smi").toString()),
                Duration.ofSeconds(1));
        assertThat(nothing.sample(1)).isEmpty();
        assertThat(nothing.sample(1)).isEmpty();
        assertThat(nothing.gpuSampling()).isFalse(); // cannot be started: not asked again
    }

    @Test
    void parsesStatAfterTheLastParenthesis() {
        long[] f = SystemSampler.parseStat(stat(7, "a) Z 1 2 (b", 'S', 42, 11, 22, 33));
        assertThat(f).containsExactly(42, 11, 22, 33, 0);
        assertThat(SystemSampler.parseStat("garbage")).isNull();
        assertThat(SystemSampler.parseStat("1 (x) S 1 2")).isNull();
    }

    @Test
    void gpuMetricsFromNvidiaSmi() throws Exception {
        Path log = tmp.resolve("args.log");
        Path smi = script("nvidia-smi", "echo \"$@\" >> '" + log + "'\n"
                + "case \"$1\" in\n"
                + "  --query-gpu=index,name,*) printf '0, NVIDIA H100 80GB HBM3, 81559\\n1, Tesla T4, 15360\\n' ;;\n"
                + "  *) printf '0, 87, 40123, 81559\\n1, [N/A], 1024, 15360\\n' ;;\n"
                + "esac\n");
        SystemSampler s = new SystemSampler(proc, List.of(smi.toString()), Duration.ofSeconds(5));
        Map<String, Double> m = s.sample(0);
        assertThat(m).containsEntry("sys/gpu0/util_percent", 87.0)
                .containsEntry("sys/gpu0/mem_used_mb", 40123.0)
                .containsEntry("sys/gpu0/mem_total_mb", 81559.0)
                .containsEntry("sys/gpu1/mem_used_mb", 1024.0)
                .containsEntry("sys/gpu1/mem_total_mb", 15360.0)
                .doesNotContainKey("sys/gpu1/util_percent");
        assertThat(Files.readString(log).trim())
                .isEqualTo("--query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits");

        List<SystemSampler.GpuInfo> gpus = SystemSampler.gpus(List.of(smi.toString()), Duration.ofSeconds(5));
        assertThat(gpus).containsExactly(new SystemSampler.GpuInfo(0, "NVIDIA H100 80GB HBM3", 81559),
                new SystemSampler.GpuInfo(1, "Tesla T4", 15360));
    }

    @Test
    void nvidiaSmiFailuresMeanNoGpuKeysAndAreGivenUpOn() throws Exception {
        Path failing = script("smi-fails", "echo 'NVIDIA-SMI has failed because it could not communicate with the driver'\nexit 9\n");
        SystemSampler s = new SystemSampler(proc, List.of(failing.toString()), Duration.ofSeconds(5));
        for (int i = 0; i < SystemSampler.GPU_FAILURES_BEFORE_GIVING_UP; i++) {
            assertThat(s.gpuSampling()).isTrue();
            assertThat(s.sample(0).keySet()).noneMatch(k -> k.startsWith("sys/gpu"));
        }
        assertThat(s.gpuSampling()).isFalse();
        assertThat(SystemSampler.gpus(List.of(failing.toString()), Duration.ofSeconds(5))).isEmpty();

        Path garbage = script("smi-garbage", "echo 'No devices were found'\n");
        assertThat(new SystemSampler(proc, List.of(garbage.toString()), Duration.ofSeconds(5)).sample(0)).isEmpty();
    }

    @Test
    void aHangingNvidiaSmiIsKilledAtTheTimeout() throws Exception {
        Path hanging = script("smi-hangs", "sleep 30\necho '0, 1, 2, 3'\n");
        SystemSampler s = new SystemSampler(proc, List.of(hanging.toString()), Duration.ofMillis(300));
        long t0 = System.nanoTime();
        Map<String, Double> m = s.sample(0);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(m).isEmpty();
        assertThat(ms).isLessThan(5000);
        assertThat(SystemSampler.gpus(List.of(hanging.toString()), Duration.ofMillis(300))).isEmpty();
    }

    @Test
    void realProcOfThisMachine() throws Exception {
        assumeTrue(Files.isRegularFile(Path.of("/proc/self/stat")), "Linux /proc");
        String self = Files.readString(Path.of("/proc/self/stat"));
        long pgid = SystemSampler.parseStat(self)[0];
        SystemSampler s = SystemSampler.forThisMachine();
        Map<String, Double> first = s.sample(pgid);
        long end = System.nanoTime() + 400_000_000L;
        double x = 0;
        while (System.nanoTime() < end) { // burn some CPU in this group
            x += Math.sqrt(x + 1);
        }
        assertThat(x).isPositive();
        Map<String, Double> second = s.sample(pgid);

        assertThat(first.get("sys/mem_used_mb")).isPositive();
        assertThat(second.get("sys/cpu_percent")).isBetween(0.0, 100.0);
        assertThat(second.get("sys/mem_used_percent")).isBetween(0.0, 100.0);
        assertThat(second.get("sys/mem_used_mb")).isBetween(1.0, 1e8);
        assertThat(second.get("sys/proc_rss_mb")).isBetween(10.0, 1e6); // at least this JVM
        assertThat(second.get("sys/proc_cpu_percent")).isGreaterThan(0.0).isLessThanOrEqualTo(100.0);
        for (Map.Entry<String, Double> e : second.entrySet()) {
            if (e.getKey().startsWith("sys/gpu")) {
                assertThat(e.getValue()).as(e.getKey()).isBetween(0.0, 1e7);
            }
        }
        for (SystemSampler.GpuInfo g : SystemSampler.gpus()) {
            assertThat(g.memoryTotalMb()).isPositive();
            assertThat(g.name()).isNotBlank();
        }
    }
}
