package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The queue end to end: grids, workers as real processes, kill -9 mid-drain, two workers on one queue. */
@Tag("integration")
class QueueTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        // Each run appends its name to a file outside the project, so the test can count how often each ran.
        project.write("sortie.yaml", """
                        run: python3 job.py ${lr} ${sleep}
                        params: {lr: 0.1, sleep: 0}
                        checkpoints: ck/
                        """)
                .write("job.py", """
                        import os, sys, time
                        t0 = time.time()
                        with open(os.environ['RUNS_FILE'], 'a') as f:
                            f.write(os.environ['SORTIE_EXPERIMENT_NAME'] + ' ' + os.environ['SORTIE_RESUMED'] + '\\n')
                        os.makedirs('ck', exist_ok=True)
                        open('ck/state', 'w').write('x')
                        time.sleep(float(sys.argv[2]))
                        print(f'metric={float(sys.argv[1]) * 2}')
                        if os.environ.get('TIMES_FILE'):
                            with open(os.environ['TIMES_FILE'], 'a') as f:
                                f.write(f"{os.environ['SORTIE_EXPERIMENT_NAME']} {int(t0 * 1000)} {int(time.time() * 1000)}\\n")
                        """)
                .commit();
        project.sortie("init");
    }

    Ledger ledger() {
        return SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"));
    }

    Map<String, Integer> runsPerExperiment(Path runsFile) throws Exception {
        Map<String, Integer> n = new HashMap<>();
        if (Files.exists(runsFile)) {
            for (String line : Files.readAllLines(runsFile)) {
                n.merge(line.split(" ")[0], 1, Integer::sum);
            }
        }
        return n;
    }

    @Test
    void aGridIsQueuedInOneCallAndDrainedWithTwoSlots() throws Exception {
        TestProject.Result q = project.sortie("run", "--queue", "-n", "grid", "-S", "lr=0.1,0.2,0.3", "-S", "sleep=0,0.1");
        assertThat(q.code()).isZero();
        assertThat(q.err()).contains("queued 6 experiments");
        TestProject.Result list = project.sortie("queue", "list", "--json");
        JsonNode rows = JSON.readTree(list.out());
        assertThat(rows).hasSize(6);
        assertThat(rows.get(0).get("position").asInt()).isEqualTo(1);
        assertThat(rows.get(0).get("name").asText()).isEqualTo("grid-1");
        assertThat(rows.get(5).get("params").get("lr").asDouble()).isEqualTo(0.3); // an object, as the params are
        assertThat(rows.get(5).get("params").get("sleep").asDouble()).isEqualTo(0.1);

        Path runs = tmp.resolve("runs.txt");
        Process worker = spawnWorker(runs, "queue", "start", "-j", "2");
        assertThat(worker.waitFor()).isZero();
        JsonNode shown = JSON.readTree(project.sortie("show", "--json").out());
        assertThat(shown).hasSize(6);
        for (JsonNode r : shown) {
            assertThat(r.get("status").asText()).isEqualTo("succeeded");
            assertThat(r.get("metric").asDouble()).isEqualTo(r.get("lr").asDouble() * 2);
        }
        assertThat(runsPerExperiment(runs).values()).containsOnly(1);
        assertThat(project.sortie("queue", "list").err()).contains("the queue is empty");
    }

    @Test
    void theProgressCountsAlwaysAddUpToEveryExperimentOfTheDrain() throws Exception {
        // With -j 1 the worker lays one experiment out ahead of the running one: it was counted nowhere
        // ("0 running, 2 queued" of 4). Every line's counts add up to the experiments of the drain.
        assertThat(project.sortie("run", "--queue", "-n", "p", "-S", "sleep=2.5", "-S", "lr=0.1,0.2,0.3,0.4").code()).isZero();
        Path out = Files.createTempFile(tmp, "worker", ".log");
        ProcessBuilder pb = project.processBuilder(out, "queue", "start", "-j", "1");
        pb.environment().put("RUNS_FILE", tmp.resolve("runs.txt").toString());
        Process worker = pb.start();
        assertThat(worker.waitFor(180, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        String printed = Files.readString(out);
        assertThat(worker.exitValue()).as(printed).isZero();
        java.util.regex.Pattern counts = java.util.regex.Pattern.compile("(\\d+) (done|running|preparing|waiting|queued)");
        List<String> lines = printed.lines().filter(l -> l.startsWith("queue: ")).toList();
        assertThat(lines).as(printed).isNotEmpty();
        for (String line : lines) {
            java.util.regex.Matcher m = counts.matcher(line);
            int sum = 0;
            while (m.find()) {
                sum += Integer.parseInt(m.group(1));
            }
            assertThat(sum).as(line).isEqualTo(4);
        }
        assertThat(printed).contains("preparing");
    }

    @Test
    void killingAWorkerMidDrainLosesNothingAndRunsEachExperimentToOneEnd() throws Exception {
        project.sortie("run", "--queue", "-q", "-S", "lr=" + IntStream.rangeClosed(1, 8).mapToObj(Integer::toString).collect(Collectors.joining(",")),
                "-S", "sleep=1");
        Path runs = tmp.resolve("runs.txt");
        Process first = spawnWorker(runs, "queue", "start", "-j", "2");
        RunLifecycleTest.waitUntil("two experiments to run", Duration.ofSeconds(60), () -> {
            try {
                return runsPerExperiment(runs).size() == 2;
            } catch (Exception e) {
                return false;
            }
        });
        first.destroyForcibly(); // kill -9 the worker mid-drain
        first.waitFor();
        Process second = spawnWorker(runs, "queue", "start", "-j", "2");
        assertThat(second.waitFor()).isZero();
        try (Ledger l = ledger()) {
            List<Experiment> all = l.list();
            assertThat(all).hasSize(8).allSatisfy(e -> assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED));
            Map<String, Integer> n = runsPerExperiment(runs);
            List<Experiment> rerun = all.stream().filter(e -> e.attempt() == 2).toList();
            // The two whose commands ran when the worker died ran again; those it had claimed ahead went back unstarted.
            assertThat(rerun).hasSize(2);
            for (Experiment e : all) {
                assertThat(n.get(e.name())).as(e.name()).isEqualTo(e.attempt());
            }
        }
        // The re-run resumed from the checkpoint its first attempt saved.
        assertThat(Files.readAllLines(runs)).anySatisfy(line -> assertThat(line).endsWith(" 1"));
    }

    @Test
    void twoWorkersAtOnceNeverRunTheSameExperimentTwice() throws Exception {
        project.sortie("run", "--queue", "-q", "-S", "lr=" + IntStream.rangeClosed(1, 24).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        Path runs = tmp.resolve("runs.txt");
        Process a = spawnWorker(runs, "queue", "start", "-j", "2");
        Process b = spawnWorker(runs, "queue", "start", "-j", "2");
        assertThat(a.waitFor()).isZero();
        assertThat(b.waitFor()).isZero();
        Map<String, Integer> n = runsPerExperiment(runs);
        assertThat(n).hasSize(24);
        assertThat(n.values()).containsOnly(1);
        try (Ledger l = ledger()) {
            assertThat(l.countByStatus(ExperimentStatus.SUCCEEDED)).isEqualTo(24);
        }
    }

    @Test
    void failuresDoNotStopTheQueueAndRetryRequeuesThem() throws Exception {
        project.sortie("run", "--queue", "-q", "-n", "ok", "-S", "lr=1");
        project.sortie("run", "--queue", "-q", "-n", "bad", "--", "python3", "-c", "import sys; sys.exit(3)");
        project.sortie("run", "--queue", "-q", "-n", "slow", "--timeout", "1s", "--", "sleep", "30");
        project.sortie("run", "--queue", "-q", "-n", "ok2", "-S", "lr=2");
        Path runs = tmp.resolve("runs.txt");
        Process w = spawnWorker(runs, "queue", "start", "-j", "2");
        assertThat(w.waitFor()).isEqualTo(1);
        try (Ledger l = ledger()) {
            assertThat(l.find("ok").orElseThrow().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(l.find("ok2").orElseThrow().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(l.find("bad").orElseThrow().status()).isEqualTo(ExperimentStatus.FAILED);
            Experiment slow = l.find("slow").orElseThrow();
            assertThat(slow.status()).isEqualTo(ExperimentStatus.FAILED);
            assertThat(slow.error()).contains("timed out");
        }
        TestProject.Result retry = project.sortie("retry", "--failed");
        assertThat(retry.err()).contains("re-queued bad").contains("re-queued slow");
        JsonNode queued = JSON.readTree(project.sortie("queue", "list", "--json").out());
        assertThat(queued).extracting(r -> r.get("name").asText()).containsExactlyInAnyOrder("bad", "slow");
        assertThat(queued).allSatisfy(r -> assertThat(r.get("attempt").asInt()).isEqualTo(2));
    }

    @Test
    void removeAndStop() throws Exception {
        project.sortie("run", "--queue", "-q", "-n", "g", "-S", "lr=1,2,3");
        assertThat(project.sortie("queue", "remove", "g-2").code()).isZero();
        assertThat(project.sortie("queue", "remove", "g-2").code()).isEqualTo(2);
        assertThat(JSON.readTree(project.sortie("queue", "list", "--json").out())).hasSize(2);
        assertThat(project.sortie("queue", "stop").code()).isZero();
        // A worker started after the stop request still works: the request stops workers running at that time.
        Process w = spawnWorker(tmp.resolve("runs.txt"), "queue", "start");
        assertThat(w.waitFor()).isZero();
        assertThat(project.sortie("queue", "remove", "--all").code()).isZero();
        assertThat(JSON.readTree(project.sortie("show", "--json").out())).hasSize(2);
    }

    @Test
    void queueStopLetsRunningFinishAndStartsNoMore() throws Exception {
        project.sortie("run", "--queue", "-q", "-S", "lr=1,2,3,4,5,6", "-S", "sleep=1");
        Path runs = tmp.resolve("runs.txt");
        Process w = spawnWorker(runs, "queue", "start", "-j", "1");
        RunLifecycleTest.waitUntil("one experiment to run", Duration.ofSeconds(60), () -> {
            try {
                return runsPerExperiment(runs).size() == 1;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(project.sortie("queue", "stop").code()).isZero();
        assertThat(w.waitFor()).isZero();
        try (Ledger l = ledger()) {
            assertThat(l.countByStatus(ExperimentStatus.SUCCEEDED)).isBetween(1, 2);
            assertThat(l.countByStatus(ExperimentStatus.QUEUED)).isBetween(4, 5);
            assertThat(l.countByStatus(ExperimentStatus.RUNNING)).isZero();
        }
    }

    @Test
    void queuedExperimentsRunWhatWasQueuedEvenIfTheWorkspaceChangedSince() throws Exception {
        project.write("sortie.yaml", "run: python3 job.py ${lr} ${sleep}\nparams: params.yaml\ncheckpoints: ck/\n")
                .write("params.yaml", "lr: 0.1\nsleep: 0\n").commit();
        project.sortie("run", "--queue", "-q", "-n", "p", "-S", "lr=1,2");
        Files.delete(project.dir.resolve("params.yaml")); // the workspace moves on; the snapshot holds the params
        Process w = spawnWorker(tmp.resolve("runs.txt"), "queue", "start");
        assertThat(w.waitFor()).isZero();
        try (Ledger l = ledger()) {
            assertThat(l.find("p-1").orElseThrow().status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(l.latestMetrics(l.find("p-2").orElseThrow().id())).containsEntry("metric", 4.0);
        }
    }

    @Test
    void badQueueInputIsAUsageError() throws Exception {
        assertThat(project.sortie("run", "--queue", "-S", "nope=1,2").code()).isEqualTo(2);
        assertThat(project.sortie("queue", "start", "-e", "nowhere").code()).isEqualTo(2);
        assertThat(project.sortie("queue", "start", "-j", "0").code()).isEqualTo(2);
        assertThat(project.sortie("run", "--retries", "2").code()).isEqualTo(2);
        assertThat(JSON.readTree(project.sortie("show", "--json").out())).isEmpty();
    }

    @Test
    void queueListFitsTheTerminalAndShowsTheParamsThatTellTheGridApart() throws Exception {
        String path = "/datasets/imagenet/train/shards/preprocessed/resized-256/v3";
        String note = "x".repeat(70);
        TestProject.Result q = project.sortie("run", "--queue", "-n", "g", "-S", "+data.path=" + path,
                "-S", "+note=" + note + "-a," + note + "-b", "-S", "+seed=1,2");
        assertThat(q.code()).as(q.err()).isZero();

        String narrow = queueList(100);
        List<String> lines = narrow.lines().filter(l -> l.matches("\\s*(position|1|2) .*")).toList();
        assertThat(lines).hasSize(3);
        assertThat(lines).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(100));
        assertThat(lines.get(1)).contains("note=xxx").contains("…").doesNotContain("data.path").doesNotContain("lr=");
        assertThat(narrow).contains("params: those that differ; 3 more the same in all");

        String wide = queueList(250);
        assertThat(wide).contains("note=" + note + "-a seed=1").contains("note=" + note + "-b seed=2").doesNotContain("…");
    }

    @Test
    void startedAndDurationOfAQueuedRunAreItsCommandsNotItsWaitInTheLookAhead() throws Exception {
        assertThat(project.sortie("run", "--queue", "-n", "same", "-S", "sleep=1,1,1").code()).isZero();
        Path times = tmp.resolve("times.txt");
        ProcessBuilder pb = project.processBuilder(tmp.resolve("worker.log"), "queue", "start", "-j", "1");
        pb.environment().put("RUNS_FILE", tmp.resolve("runs.txt").toString());
        pb.environment().put("TIMES_FILE", times.toString());
        assertThat(pb.start().waitFor()).isZero();
        // the commands' own start and end (ms since the epoch), as each wrote them
        Map<String, long[]> command = Files.readAllLines(times).stream().map(l -> l.split(" "))
                .collect(Collectors.toMap(p -> p[0], p -> new long[] {Long.parseLong(p[1]), Long.parseLong(p[2])}));
        try (Ledger l = ledger()) {
            // in the order the commands ran (a grid's experiments share their queued-at, so not by name)
            List<Experiment> runs = l.list().stream().sorted(java.util.Comparator.comparing(e -> command.get(e.name())[0])).toList();
            assertThat(runs).hasSize(3);
            long previousEnd = 0;
            for (Experiment e : runs) {
                long[] own = command.get(e.name());
                long started = e.startedAt().toEpochMilli();
                // -j 1: a command starts after the one before it exited; its record starts with it, not at its claim
                assertThat(started).as(e.name() + " started").isGreaterThanOrEqualTo(previousEnd).isLessThanOrEqualTo(own[0]);
                assertThat(e.endedAt().toEpochMilli()).isGreaterThanOrEqualTo(own[1]);
                previousEnd = own[1];
            }
            // identical work: the durations differ by much less than one run (waiting a run ahead made it twice)
            List<Long> durations = runs.stream().map(e -> e.duration(e.endedAt()).toMillis()).toList();
            assertThat(java.util.Collections.max(durations) - java.util.Collections.min(durations)).as("durations " + durations)
                    .isLessThan(900);
        }
    }

    /** {@code sortie queue list} in its own process, as a terminal of this width runs it. */
    private String queueList(int columns) throws Exception {
        Path out = Files.createTempFile(tmp, "list", ".txt");
        ProcessBuilder pb = project.processBuilder(out, "queue", "list");
        pb.environment().put("COLUMNS", String.valueOf(columns));
        assertThat(pb.start().waitFor()).isZero();
        return Files.readString(out);
    }

    private Process spawnWorker(Path runsFile, String... args) throws Exception {
        Path out = Files.createTempFile(tmp, "worker", ".log");
        ProcessBuilder pb = project.processBuilder(out, args);
        pb.environment().put("RUNS_FILE", runsFile.toString());
        return pb.start();
    }
}
