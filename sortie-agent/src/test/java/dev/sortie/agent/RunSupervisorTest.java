package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.store.BlobStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor on real processes: process groups, signals, timeouts, setup stages, periodic checkpoints. */
@Tag("integration")
class RunSupervisorTest {
    @TempDir
    Path dir;

    final List<String> lines = new CopyOnWriteArrayList<>();
    final List<MetricPoint> metrics = new CopyOnWriteArrayList<>();
    final List<ArtifactRecord> saved = new CopyOnWriteArrayList<>();
    final RunListener listener = new RunListener() {
        private final java.io.ByteArrayOutputStream partial = new java.io.ByteArrayOutputStream();

        @Override
        public void output(String line) {
            lines.add(line);
        }

        @Override
        public void outputBytes(byte[] bytes, int offset, int length) {
            for (int i = offset; i < offset + length; i++) {
                if (bytes[i] == '\n') {
                    lines.add(partial.toString(java.nio.charset.StandardCharsets.UTF_8));
                    partial.reset();
                } else {
                    partial.write(bytes[i]);
                }
            }
        }

        @Override
        public void metrics(List<MetricPoint> points) {
            metrics.addAll(points);
        }

        @Override
        public void saved(List<ArtifactRecord> files) {
            saved.addAll(files);
        }
    };

    /** A store in memory: the agent only needs the SPI. */
    static final class MemoryStore implements BlobStore {
        final Map<String, byte[]> blobs = new ConcurrentHashMap<>();

        @Override
        public String put(Path file) throws IOException {
            return put(Files.newInputStream(file));
        }

        @Override
        public String put(InputStream in) throws IOException {
            byte[] b = in.readAllBytes();
            String h = Integer.toHexString(java.util.Arrays.hashCode(b));
            blobs.put(h, b);
            return h;
        }

        @Override
        public boolean contains(String hash) {
            return blobs.containsKey(hash);
        }

        @Override
        public InputStream open(String hash) {
            return new ByteArrayInputStream(blobs.get(hash));
        }

        @Override
        public void get(String hash, Path target) throws IOException {
            Files.createDirectories(target.getParent());
            Files.write(target, blobs.get(hash));
        }

        @Override
        public String location() {
            return "memory";
        }
    }

    RunSupervisor start(String yaml, List<List<String>> stages) throws Exception {
        TaskConfig task = TaskConfigLoader.parse(dir, yaml);
        Path work = dir.resolve("work");
        Files.createDirectories(work);
        Path events = dir.resolve("events.jsonl");
        return RunSupervisor.start(new RunSpec("t1", task, stages, Map.of("X", "1", "EV", events.toString()), work, work,
                dir.resolve("out.log"), events, new MemoryStore(), listener));
    }

    @Test
    void succeedsAndCollectsMetricsAndArtifacts() throws Exception {
        RunSupervisor s = start("run: x\nartifacts: [a.txt]\n", List.of(List.of("sh", "-c", "echo loss=1 step=3; echo hi > a.txt; echo $X")));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(lines).containsExactly("loss=1 step=3", "1");
        assertThat(metrics).extracting(MetricPoint::key, MetricPoint::step).containsExactly(org.assertj.core.groups.Tuple.tuple("loss", 3L));
        assertThat(saved).extracting(ArtifactRecord::path).containsExactly("a.txt");
    }

    @Test
    void sdkEventsBecomeMetricsAndSavedFiles() throws Exception {
        String script = "printf '%s\\n' '{\"e\":\"m\",\"s\":7,\"v\":{\"loss\":0.5,\"acc\":\"NaN\"}}' >> \"$EV\"; "
                + "printf '%s\\n' '{\"e\":\"m\",\"v\":{\"loss\":0.25}}' >> \"$EV\"; echo w > model.bin; "
                + "printf '%s\\n' \"{\\\"e\\\":\\\"a\\\",\\\"path\\\":\\\"$PWD/model.bin\\\"}\" >> \"$EV\"; "
                + "printf '%s\\n' '{\"e\":\"a\",\"path\":\"/etc/passwd\"}' '{\"e\":\"zz\"}' 'garbage' >> \"$EV\"; "
                + "printf '%s' '{\"e\":\"m\",\"v\":{\"half\":1}' >> \"$EV\"";
        RunSupervisor s = start("run: x\n", List.of(List.of("sh", "-c", script)));
        assertThat(s.await().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(metrics).extracting(MetricPoint::key, MetricPoint::step).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("loss", 7L), org.assertj.core.groups.Tuple.tuple("acc", 7L),
                org.assertj.core.groups.Tuple.tuple("loss", 8L));
        assertThat(saved).extracting(ArtifactRecord::path).containsExactly("model.bin");
    }

    @Test
    void failedSetupSkipsTheCommand() throws Exception {
        RunSupervisor s = start("run: x\n", List.of(List.of("sh", "-c", "echo setting up; exit 4"), List.of("sh", "-c", "echo never")));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(o.exitCode()).isEqualTo(4);
        assertThat(o.error()).contains("setup");
        assertThat(lines).containsExactly("setting up");
    }

    @Test
    void stopReachesEveryProcessOfTheGroup() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        RunSupervisor s = start("run: x\n", List.of(List.of("sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait")));
        Awaitility.await("the child's pid").atMost(Duration.ofSeconds(20))
                .until(() -> Files.exists(pidFile) && Files.readString(pidFile).endsWith("\n"));
        long child = Long.parseLong(Files.readString(pidFile).trim());
        s.stop(Duration.ofSeconds(5));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.STOPPED);
        Awaitility.await("the grandchild to end").atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(ProcessGroups.isAlive(child, null)).as("grandchild got the signal").isFalse());
    }

    @Test
    void whatTheCommandLeftRunningEndsWithTheRun() throws Exception {
        RunSupervisor s = start("run: x\n", List.of(List.of("sh", "-c", "sleep 30 & echo pid=$!; echo loss=1")));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(o.exitCode()).isZero();
        assertThat(metrics).extracting(MetricPoint::key).contains("loss");
        long child = lines.stream().filter(l -> l.startsWith("pid=")).mapToLong(l -> Long.parseLong(l.substring(4))).findFirst().orElseThrow();
        // Ended before the run's outcome is known, so before anyone removes its work folder.
        assertThat(ProcessGroups.isAlive(child, null)).as("the background sleep").isFalse();
        assertThat(Files.readString(dir.resolve("out.log"))).contains("left processes running");
    }

    @Test
    void aNoteAfterOutputWithoutANewlineStartsItsOwnLineAndKeepsTheLastMetric() throws Exception {
        // The leftover note used to be glued to 'loss=7' ("loss=7[sortie] the command left..."): the metric was lost.
        RunSupervisor s = start("run: x\n", List.of(List.of("sh", "-c", "sleep 30 & printf loss=7")));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(metrics).extracting(MetricPoint::key).contains("loss");
        assertThat(Files.readString(dir.resolve("out.log"))).startsWith("loss=7\n[sortie] the command left processes running");
    }

    @Test
    void processesThatIgnoreSigtermAreKilledAfterTheGrace() throws Exception {
        RunSupervisor s = start("run: x\n", List.of(List.of("sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done")));
        Awaitility.await("ready").atMost(Duration.ofSeconds(20)).until(() -> lines.contains("ready"));
        long t = System.nanoTime();
        s.stop(Duration.ofMillis(500));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.STOPPED);
        assertThat(o.exitCode()).isEqualTo(137);
        assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void timeoutFailsTheRun() throws Exception {
        RunSupervisor s = start("run: x\ntimeout: 1s\n", List.of(List.of("sleep", "60")));
        RunOutcome o = s.await();
        assertThat(o.status()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(o.error()).contains("timed out after 1s");
    }

    @Test
    void checkpointsAreSavedWhileRunning() throws Exception {
        RunSupervisor s = start("run: x\ncheckpoints: ck/\ncheckpoint_interval: 1\n",
                List.of(List.of("sh", "-c", "mkdir -p ck; echo 1 > ck/a; sleep 2.5; echo 2 > ck/a")));
        Awaitility.await("a checkpoint saved before the end").atMost(Duration.ofSeconds(20)).until(() -> !saved.isEmpty());
        assertThat(s.await().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(saved.stream().filter(a -> a.path().equals("ck/a")).count()).isEqualTo(2);
    }
}
