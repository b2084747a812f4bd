package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static dev.sortie.ledger.TestExperiments.full;
import static dev.sortie.ledger.TestExperiments.points;
import static dev.sortie.ledger.TestExperiments.queued;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.params.Params;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every ledger does, on SQLite ({@link SqliteLedgerTest}) and on PostgreSQL ({@link PostgresLedgerTest}): each
 * test runs against both, each on an empty ledger of its own.
 */
abstract class LedgerContractTest {
    JdbcLedger ledger;

    /** A new, empty ledger. */
    abstract JdbcLedger openLedger() throws Exception;

    /** Another ledger on the same database as {@link #ledger}, as another process would open it. */
    abstract JdbcLedger openAgain();

    @BeforeEach
    void open() throws Exception {
        ledger = openLedger();
    }

    @AfterEach
    void close() {
        ledger.close();
    }

    // ---- experiments ------------------------------------------------------------------------------------------

    @Test
    void roundTripsEveryField() {
        Experiment e = full("0a1b2c3d4e5f", "brave-otter");
        ledger.insert(e);

        Experiment back = ledger.find(e.id()).orElseThrow();

        assertThat(back).isEqualTo(e);
        // Map equality ignores order; the ledger must keep the order the user wrote params in.
        assertThat(List.copyOf(back.params().asMap().keySet())).containsExactlyElementsOf(e.params().asMap().keySet());
        assertThat(List.copyOf(back.params().flatten().keySet())).containsExactlyElementsOf(e.params().flatten().keySet());
        assertThat(back.params().get("train.layers")).contains(List.of(64L, 128L, 256L));
        assertThat(back.params().get("whole")).contains(1.0);
        assertThat(back.params().get("big")).contains(Long.MAX_VALUE);
        assertThat(back.params().has("nothing")).isTrue();
    }

    @Test
    void roundTripsArgvCommandAndAbsentFields() {
        Experiment e = new Experiment("argv-1", "quiet-heron", ExperimentStatus.QUEUED, "local",
                CommandSpec.argv(List.of("python", "-c", "print('a b'); import sys", "--flag=\"x y\"")),
                Params.empty(), null, null, T0, null, null, null, null, 1, null);
        ledger.insert(e);

        Experiment back = ledger.find("argv-1").orElseThrow();

        assertThat(back).isEqualTo(e);
        assertThat(back.command().isShell()).isFalse();
        assertThat(back.code()).isNull();
        assertThat(back.handle()).isNull();
        assertThat(back.exitCode()).isNull();
    }

    @Test
    void roundTripsPartialCodeRefAndHandle() {
        Experiment e = queued("partial-1", "partial")
                .withCode(new dev.sortie.core.model.CodeRef("abc", "def", "refs/x", false))
                .started(T0.plusSeconds(1), new RunLocator("local", null, new ProcessLocation(10, null, 11, null).value()));
        ledger.insert(e);

        assertThat(ledger.find("partial-1")).contains(e);
    }

    @Test
    void keepsTimesToTheMillisecond() {
        Instant precise = Instant.parse("2025-03-01T12:00:00.123456789Z");
        ledger.insert(queued("precise-1", "precise", precise));

        assertThat(ledger.find("precise-1").orElseThrow().createdAt()).isEqualTo(Instant.parse("2025-03-01T12:00:00.123Z"));
    }

    @Test
    void roundTripsNonFiniteParams() {
        Experiment e = new Experiment("nan-1", "nan", ExperimentStatus.QUEUED, "local", CommandSpec.shell("true"),
                Params.of(Map.of("a", Double.NaN, "b", Double.POSITIVE_INFINITY)), null, null, T0, null, null, null,
                null, 1, null);
        ledger.insert(e);

        assertThat(ledger.find("nan-1").orElseThrow().params()).isEqualTo(e.params());
    }

    @Test
    void updateIsACompareAndSet() {
        Experiment queued = queued("cas-1", "cas");
        ledger.insert(queued);
        Experiment running = queued.started(T0.plusSeconds(1), new RunLocator("local", "h", new ProcessLocation(1, T0, 2, T0).value()));

        assertThat(ledger.update(running, ExperimentStatus.QUEUED)).isTrue();
        assertThat(ledger.update(queued.withStatus(ExperimentStatus.STOPPED), ExperimentStatus.QUEUED)).isFalse();
        assertThat(ledger.find("cas-1")).contains(running);

        Experiment done = running.ended(ExperimentStatus.SUCCEEDED, T0.plusSeconds(9), 0, null);
        assertThat(ledger.update(done, ExperimentStatus.RUNNING)).isTrue();
        assertThat(ledger.find("cas-1")).contains(done);

        assertThat(ledger.update(queued("missing", "missing"), ExperimentStatus.QUEUED)).isFalse();
        assertThat(ledger.find("missing")).isEmpty();
    }

    @Test
    void onlyOneOfManyConcurrentUpdatesWins() throws Exception {
        Experiment queued = queued("race-1", "race");
        ledger.insert(queued);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Boolean>> tries = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                RunLocator handle = new RunLocator("local", "host-" + i, new ProcessLocation(i, T0, i, T0).value());
                tries.add(() -> ledger.update(queued.started(T0, handle), ExperimentStatus.QUEUED));
            }
            int winners = 0;
            for (Future<Boolean> f : pool.invokeAll(tries)) {
                winners += f.get() ? 1 : 0;
            }
            assertThat(winners).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void updateToATakenNameIsAConflict() {
        ledger.insert(queued("one-1", "one"));
        ledger.insert(queued("two-2", "two"));
        Experiment renamed = new Experiment("two-2", "one", ExperimentStatus.QUEUED, "local", CommandSpec.shell("x"),
                Params.empty(), null, null, T0, null, null, null, null, 1, null);

        LedgerException e = catchThrowableOfType(LedgerException.class, () -> ledger.update(renamed, ExperimentStatus.QUEUED));

        assertThat(e.isConflict()).isTrue();
        assertThat(e).hasMessageContaining("an experiment named 'one' already exists");
        assertThat(ledger.find("two-2").orElseThrow().name()).isEqualTo("two");
    }

    @Test
    void insertingATakenNameOrIdIsAConflict() {
        ledger.insert(queued("abcd1234", "taken"));

        LedgerException byName = catchThrowableOfType(LedgerException.class, () -> ledger.insert(queued("ffff0000", "taken")));
        LedgerException byId = catchThrowableOfType(LedgerException.class, () -> ledger.insert(queued("abcd1234", "other")));

        assertThat(byName.isConflict()).isTrue();
        assertThat(byName).hasMessage("an experiment named 'taken' already exists");
        assertThat(byId.isConflict()).isTrue();
        assertThat(byId).hasMessage("an experiment with id 'abcd1234' already exists");
        assertThat(ledger.list()).extracting(Experiment::id).containsExactly("abcd1234");
        assertThat(ledger.nameExists("taken")).isTrue();
        assertThat(ledger.nameExists("other")).isFalse();
    }

    @Test
    void aBatchWithAClashInsertsNothing() {
        ledger.insert(queued("x-0", "taken"));

        assertThatThrownBy(() -> ledger.insertAll(List.of(queued("x-1", "fine"), queued("x-2", "taken"))))
                .isInstanceOf(LedgerException.class);

        assertThat(ledger.list()).extracting(Experiment::id).containsExactly("x-0");
    }

    @Test
    void findsByIdThenNameThenUniquePrefix() {
        ledger.insert(queued("a1b2c3d4e5", "first"));
        ledger.insert(queued("a1b2ff0099", "second"));
        // named like the other's id: the id wins
        ledger.insert(queued("9999000011", "a1b2c3d4e5"));

        assertThat(ledger.find("a1b2c3d4e5").orElseThrow().name()).isEqualTo("first");
        assertThat(ledger.find("second").orElseThrow().id()).isEqualTo("a1b2ff0099");
        assertThat(ledger.find("a1b2c").orElseThrow().id()).isEqualTo("a1b2c3d4e5");
        assertThat(ledger.find("9999").orElseThrow().id()).isEqualTo("9999000011");
        assertThat(ledger.find("a1b")).as("prefixes shorter than 4 never match").isEmpty();
        assertThat(ledger.find("A1B2C")).as("prefixes are case-sensitive").isEmpty();
        assertThat(ledger.find("a1b_")).as("no LIKE wildcards").isEmpty();
        assertThat(ledger.find("zzzz")).isEmpty();
        assertThat(ledger.find("")).isEmpty();
    }

    @Test
    void anAmbiguousPrefixNamesTheCandidates() {
        ledger.insert(queued("a1b2c3d4e5", "first"));
        ledger.insert(queued("a1b2ff0099", "second"));

        LedgerException e = catchThrowableOfType(LedgerException.class, () -> ledger.find("a1b2"));

        assertThat(e.isConflict()).isTrue();
        assertThat(e).hasMessageContaining("'a1b2' matches several experiments")
                .hasMessageContaining("a1b2c3d4e5 (first)")
                .hasMessageContaining("a1b2ff0099 (second)");
    }

    @Test
    void listsOldestFirstAndInsertionOrderWithinAMillisecond() {
        ledger.insert(queued("late", "late", T0.plusSeconds(10)));
        ledger.insert(queued("tie-b", "tie-b", T0));
        ledger.insert(queued("tie-a", "tie-a", T0));
        ledger.insert(queued("early", "early", T0.minusSeconds(10)).withStatus(ExperimentStatus.RUNNING));

        assertThat(ledger.list()).extracting(Experiment::id).containsExactly("early", "tie-b", "tie-a", "late");
        assertThat(ledger.views()).extracting(v -> v.experiment().id()).containsExactly("early", "tie-b", "tie-a", "late");
        assertThat(ledger.listByStatus(List.of(ExperimentStatus.RUNNING, ExperimentStatus.SUCCEEDED)))
                .extracting(Experiment::id).containsExactly("early");
        assertThat(ledger.listByStatus(List.of(ExperimentStatus.QUEUED))).extracting(Experiment::id)
                .containsExactly("tie-b", "tie-a", "late");
        assertThat(ledger.listByStatus(List.of())).isEmpty();
    }

    // ---- metrics ----------------------------------------------------------------------------------------------

    @Test
    void recordingTheSamePointsAgainChangesNothing() {
        ledger.insert(queued("m-1", "m"));
        List<MetricPoint> run = new ArrayList<>(points("loss", 5, 0.5));
        run.addAll(points("acc", 5, 0.1));

        ledger.recordMetrics("m-1", run);
        List<MetricPoint> firstSeries = ledger.series("m-1", "loss");
        Map<String, Double> firstScalars = ledger.views().get(0).metrics();
        ledger.recordMetrics("m-1", run);
        ledger.recordMetrics("m-1", run.subList(0, 3));

        assertThat(ledger.series("m-1", "loss")).isEqualTo(firstSeries).hasSize(5);
        assertThat(ledger.views().get(0).metrics()).isEqualTo(firstScalars)
                .containsExactly(Map.entry("acc", 0.4), Map.entry("loss", 2.0));
    }

    @Test
    void theLastStepIsTheHighestOfAnyMetricButTheMachinesSamples() {
        ledger.insert(queued("m-3", "m"));
        assertThat(ledger.lastStep("m-3")).as("no metric yet").isEqualTo(-1);
        ledger.recordMetrics("m-3", List.of(new MetricPoint("loss", 45, 0.1, T0), new MetricPoint("loss", 12, 0.5, T0),
                new MetricPoint("acc", 40, 0.9, T0), new MetricPoint("sys/cpu", 900, 50, T0), new MetricPoint("sys_x", 46, 1, T0)));
        assertThat(ledger.lastStep("m-3")).as("sys/ samples count their own steps; sys_x is the run's").isEqualTo(46);
        ledger.recordMetrics("m-3", List.of(new MetricPoint("loss", 47, 0.09, T0)));
        assertThat(ledger.lastStep("m-3")).isEqualTo(47);
        assertThat(ledger.lastStep("no-such")).isEqualTo(-1);
    }

    @Test
    void theScalarIsThePointAtTheHighestStep() {
        ledger.insert(queued("m-2", "m"));

        ledger.recordMetrics("m-2", List.of(new MetricPoint("loss", 7, 0.7, T0), new MetricPoint("loss", 3, 0.3, T0)));
        assertThat(scalars("m-2")).containsEntry("loss", 0.7);

        ledger.recordMetrics("m-2", List.of(new MetricPoint("loss", 5, 0.55, T0)));
        assertThat(scalars("m-2")).as("a lower step does not move the scalar back").containsEntry("loss", 0.7);

        ledger.recordMetrics("m-2", List.of(new MetricPoint("loss", 7, 0.77, T0)));
        assertThat(scalars("m-2")).as("the same step rewritten replaces it").containsEntry("loss", 0.77);

        ledger.recordMetrics("m-2", List.of(new MetricPoint("loss", 8, 0.8, T0), new MetricPoint("loss", 8, 0.88, T0)));
        assertThat(scalars("m-2")).as("of equal steps in one batch, the later wins").containsEntry("loss", 0.88);
        assertThat(ledger.series("m-2", "loss")).extracting(MetricPoint::step, MetricPoint::value)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(3L, 0.3), org.assertj.core.groups.Tuple.tuple(5L, 0.55),
                        org.assertj.core.groups.Tuple.tuple(7L, 0.77), org.assertj.core.groups.Tuple.tuple(8L, 0.88));
    }

    @Test
    void seriesComeBackByStepWithTheirTimes() {
        ledger.insert(queued("m-3", "m"));
        List<MetricPoint> shuffled = new ArrayList<>(points("lr", 6, 1.0));
        java.util.Collections.reverse(shuffled);

        ledger.recordMetrics("m-3", shuffled);

        assertThat(ledger.series("m-3", "lr")).isEqualTo(points("lr", 6, 1.0));
        assertThat(ledger.series("m-3", "nope")).isEmpty();
        assertThat(ledger.series("nope", "lr")).isEmpty();
    }

    @Test
    void nonFiniteValuesSurvive() {
        ledger.insert(queued("m-4", "m"));

        ledger.recordMetrics("m-4", List.of(new MetricPoint("loss", 0, Double.NaN, T0),
                new MetricPoint("grad", 0, Double.POSITIVE_INFINITY, null),
                new MetricPoint("neg", 0, Double.NEGATIVE_INFINITY, T0)));

        assertThat(ledger.series("m-4", "loss")).containsExactly(new MetricPoint("loss", 0, Double.NaN, T0));
        assertThat(ledger.series("m-4", "grad")).containsExactly(new MetricPoint("grad", 0, Double.POSITIVE_INFINITY, null));
        assertThat(scalars("m-4")).containsEntry("loss", Double.NaN).containsEntry("grad", Double.POSITIVE_INFINITY)
                .containsEntry("neg", Double.NEGATIVE_INFINITY);
    }

    @Test
    void rollupsCutLikeEveryPointWhateverOrderPointsCameInResentOrReplaced() {
        ledger.insert(queued("roll", "rolled"));
        ledger.insert(queued("other", "beside"));
        java.util.Random random = new java.util.Random(12);
        List<MetricPoint> all = new ArrayList<>();
        for (int step = 3; step < 10_003; step++) {
            double v = step == 4321 ? 50 : step == 7777 ? -40 : step % 997 == 0 || (step > 9000 && step < 9040) ? Double.NaN
                    : step % 500 < 20 ? 0.25 : Math.round(Math.sin(step / 300.0) * 100) / 100.0; // ties of equal values
            all.add(new MetricPoint("loss", step, v, T0.plusSeconds(step)));
        }
        java.util.Collections.shuffle(all, random);
        for (int from = 0; from < all.size(); ) {
            int to = Math.min(all.size(), from + 1 + random.nextInt(700));
            ledger.recordMetrics("roll", all.subList(from, to));
            // an agent resending a report it was not sure had arrived, and a batch holding the same step twice
            if (random.nextInt(4) == 0) {
                ledger.recordMetrics("roll", all.subList(from, Math.min(to, from + 50)));
            }
            from = to;
        }
        ledger.recordMetrics("other", points("loss", 3000, -1));
        // replaced values: the spike gone (so the old highest point of its buckets is stale), a new dip beside it
        ledger.recordMetrics("roll", List.of(new MetricPoint("loss", 4321, 0.5, T0), new MetricPoint("loss", 4322, -70, T0),
                new MetricPoint("loss", 4322, -60, T0)));

        List<MetricPoint> raw = ledger.series("roll", "loss");
        assertThat(raw).hasSize(10_000);
        assertThat(ledger.seriesSpan("roll", "loss")).contains(new dev.sortie.core.model.SeriesSpan(10_000, 3, 10_002));
        for (long width = 1; width <= 1 << 16; width <<= 1) {
            List<MetricPoint> extremes = ledger.seriesExtremes("roll", "loss", width);
            assertThat(cut(extremes, width)).as("width %d", width).isEqualTo(cut(raw, width));
            if (width >= 64) {
                assertThat(extremes.size()).as("width %d", width).isLessThanOrEqualTo(4 * (int) (10_003 / (width / 4) + 1));
            }
        }
        assertThat(cut(ledger.seriesExtremes("roll", "loss", 256), 256)).anyMatch(b -> b.contains("-60.0@4322"));
        assertThat(ledger.seriesSpan("other", "loss")).contains(new dev.sortie.core.model.SeriesSpan(3000, 0, 2999));
        assertThat(ledger.seriesSpan("roll", "nope")).isEmpty();

        ledger.clearMetrics("other");
        assertThat(ledger.seriesSpan("other", "loss")).isEmpty();
        assertThat(ledger.seriesExtremes("other", "loss", 1024)).isEmpty();
        ledger.recordMetrics("other", List.of(new MetricPoint("loss", 5, 1, T0)));
        assertThat(ledger.seriesSpan("other", "loss")).contains(new dev.sortie.core.model.SeriesSpan(1, 5, 5));
        ledger.delete("roll");
        ledger.insert(queued("roll", "rolled"));
        assertThat(ledger.seriesSpan("roll", "loss")).isEmpty();
        assertThat(ledger.seriesExtremes("roll", "loss", 1 << 14)).isEmpty();
    }

    /**
     * A min/max cut of a series onto buckets of {@code width} steps starting at multiples of it, as the server's compare
     * charts cut: each bucket's lowest and highest point (NaN left out, of equal values the lowest step), and the
     * series' first and last step.
     */
    private static List<String> cut(List<MetricPoint> series, long width) {
        java.util.TreeMap<Long, MetricPoint[]> buckets = new java.util.TreeMap<>();
        for (MetricPoint p : series) {
            if (Double.isNaN(p.value())) {
                continue;
            }
            MetricPoint[] b = buckets.computeIfAbsent(Math.floorDiv(p.step(), width), k -> new MetricPoint[2]);
            if (b[0] == null || p.value() < b[0].value() || (p.value() == b[0].value() && p.step() < b[0].step())) {
                b[0] = p;
            }
            if (b[1] == null || p.value() > b[1].value() || (p.value() == b[1].value() && p.step() < b[1].step())) {
                b[1] = p;
            }
        }
        List<String> out = new ArrayList<>();
        if (!series.isEmpty()) {
            out.add("first " + series.get(0).step() + ", last " + series.get(series.size() - 1).step());
        }
        buckets.forEach((k, b) -> out.add(k + ": " + b[0].value() + "@" + b[0].step() + " " + b[1].value() + "@" + b[1].step()));
        return out;
    }

    @Test
    void clearMetricsStartsClean() {
        ledger.insert(queued("m-5", "m"));
        ledger.recordMetrics("m-5", points("loss", 10, 1.0));

        ledger.clearMetrics("m-5");
        assertThat(ledger.series("m-5", "loss")).isEmpty();
        assertThat(scalars("m-5")).isEmpty();

        ledger.recordMetrics("m-5", points("loss", 2, 5.0));
        assertThat(scalars("m-5")).as("the retry's own highest step, not the old one").containsEntry("loss", 5.0);
    }

    @Test
    void metricsForAnUnknownExperimentFailClearly() {
        assertThatThrownBy(() -> ledger.recordMetrics("ghost", points("loss", 1, 1.0)))
                .isInstanceOf(LedgerException.class)
                .hasMessage("cannot record metrics for experiment ghost: there is no experiment with id 'ghost'");
        ledger.recordMetrics("ghost", List.of()); // nothing to do is not an error
    }

    @Test
    void viewsCarryEachExperimentsLatestMetrics() {
        ledger.insert(queued("v-1", "v1"));
        ledger.insert(queued("v-2", "v2"));
        ledger.recordMetrics(Map.of("v-1", points("b", 3, 1.0), "v-2", points("a", 2, 2.0)));
        ledger.recordMetrics("v-1", points("a", 1, 1.0));
        ledger.insert(queued("v-3", "v3"));

        List<ExperimentView> views = ledger.views();

        assertThat(views).extracting(v -> v.experiment().id()).containsExactly("v-1", "v-2", "v-3");
        assertThat(views.get(0).metrics()).containsExactly(Map.entry("a", 0.0), Map.entry("b", 2.0));
        assertThat(views.get(1).metrics()).containsExactly(Map.entry("a", 2.0));
        assertThat(views.get(2).metrics()).isEmpty();
        assertThat(views.get(0).experiment()).isEqualTo(queued("v-1", "v1"));
    }

    @Test
    void manyThreadsCanRecordAtOnce() throws Exception {
        ledger.insert(queued("t-1", "t"));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Void>> writers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                String key = "k" + w;
                writers.add(() -> {
                    for (int s = 0; s < 50; s++) {
                        ledger.recordMetrics("t-1", List.of(new MetricPoint(key, s, s, T0)));
                        ledger.views();
                    }
                    return null;
                });
            }
            for (Future<Void> f : pool.invokeAll(writers)) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        for (int w = 0; w < 4; w++) {
            assertThat(ledger.series("t-1", "k" + w)).hasSize(50);
            assertThat(scalars("t-1")).containsEntry("k" + w, 49.0);
        }
    }

    // ---- the queue -----------------------------------------------------------------------------------------------

    @Test
    void workersOnSeparateConnectionsClaimEachQueuedExperimentExactlyOnce() throws Exception {
        int experiments = 120;
        int workers = 6;
        List<Experiment> batch = new ArrayList<>();
        for (int i = 0; i < experiments; i++) {
            // every other one for any executor (""), the rest for "local": both are this worker's to take
            Experiment q = queued(String.format("q-%04d", i), "queued-" + i, T0.plusMillis(i / 4));
            batch.add(i % 2 == 0 ? q : new Experiment(q.id(), q.name(), q.status(), "", q.command(), q.params(), null, null,
                    q.createdAt(), null, null, null, null, 1, null));
        }
        batch.add(new Experiment("q-other", "for-another-executor", ExperimentStatus.QUEUED, "gpu", CommandSpec.shell("x"),
                Params.empty(), null, null, T0, null, null, null, null, 1, null));
        ledger.insertAll(batch);

        ExecutorService pool = Executors.newFixedThreadPool(workers);
        List<JdbcLedger> ledgers = new ArrayList<>();
        try {
            List<Callable<List<String>>> drains = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                JdbcLedger mine = openAgain(); // a connection of its own, as a worker process has
                ledgers.add(mine);
                RunLocator handle = new RunLocator("local", "worker-" + w, "pid=" + w);
                drains.add(() -> {
                    List<String> claimed = new ArrayList<>();
                    for (Optional<Experiment> next; (next = mine.claimNext("local", handle, T0.plusSeconds(1))).isPresent(); ) {
                        assertThat(next.get().status()).isEqualTo(ExperimentStatus.RUNNING);
                        claimed.add(next.get().id());
                    }
                    return claimed;
                });
            }
            List<String> all = new ArrayList<>();
            for (Future<List<String>> f : pool.invokeAll(drains)) {
                all.addAll(f.get());
            }
            assertThat(all).as("each claimed once").doesNotHaveDuplicates().hasSize(experiments);
            assertThat(ledger.countByStatus(ExperimentStatus.QUEUED)).as("only the other executor's is left").isEqualTo(1);
            assertThat(ledger.countByStatus(ExperimentStatus.RUNNING)).isEqualTo(experiments);
            for (Experiment e : ledger.listByStatus(List.of(ExperimentStatus.RUNNING))) {
                assertThat(e.executor()).isEqualTo("local");
                assertThat(e.handle().host()).startsWith("worker-");
            }
        } finally {
            pool.shutdownNow();
            ledgers.forEach(JdbcLedger::close);
        }
    }

    /** Runs started at once from several processes (here connections) get distinct default names, and no conflict. */
    @Test
    void defaultNamesStayDistinctWhenManyConnectionsAddAtOnce() throws Exception {
        int writers = 6;
        int each = 10;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        List<JdbcLedger> ledgers = new ArrayList<>();
        try {
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(writers);
            List<Callable<List<String>>> adds = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                JdbcLedger mine = openAgain();
                ledgers.add(mine);
                int writer = w;
                adds.add(() -> {
                    start.await();
                    List<String> names = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        Experiment e = queued("w" + writer + "-" + i, "placeholder-" + writer + "-" + i);
                        names.add(mine.insertAllNaming(List.of(e), Map.of(e.id(), "train")).get(0).name());
                    }
                    return names;
                });
            }
            List<String> all = new ArrayList<>();
            for (Future<List<String>> f : pool.invokeAll(adds)) {
                all.addAll(f.get());
            }
            assertThat(all).doesNotHaveDuplicates().hasSize(writers * each).allSatisfy(n -> assertThat(n).matches("train-\\d+"));
            assertThat(ledger.count()).isEqualTo(writers * each);
        } finally {
            pool.shutdownNow();
            ledgers.forEach(JdbcLedger::close);
        }
    }

    @Test
    void claimsTakeTheOldestQueuedFirst() {
        ledger.insertAll(List.of(queued("c-2", "second", T0.plusSeconds(2)), queued("c-1", "first", T0.plusSeconds(1)),
                queued("c-3", "third", T0.plusSeconds(3))));
        RunLocator h = new RunLocator("local", "w", "pid=1");
        assertThat(ledger.claimNext("local", h, T0.plusSeconds(9))).map(Experiment::id).contains("c-1");
        assertThat(ledger.claimNext("local", h, T0.plusSeconds(9))).map(Experiment::id).contains("c-2");
        assertThat(ledger.claimNext("gpu", h, T0.plusSeconds(9))).isEmpty();
        assertThat(ledger.claimNext("local", h, T0.plusSeconds(9))).map(Experiment::id).contains("c-3");
        assertThat(ledger.claimNext("local", h, T0.plusSeconds(9))).isEmpty();
    }

    // ---- pages of the table ------------------------------------------------------------------------------------

    @Test
    void pagesAreFilteredSortedAndCutAsTheInMemoryDefaultDoes() {
        // ties in every column, names whose order differs by collation ("B" < "a" by code point), times not set,
        // params of several types and absent in some rows, metrics absent in some rows, a NaN metric
        List<Experiment> all = new ArrayList<>();
        String[] names = {"a-run", "B-run", "b-run", "A-run", "_x", "z", "é-run", "Z", "m-1", "m-10", "m-2", "0"};
        ExperimentStatus[] statuses = {ExperimentStatus.QUEUED, ExperimentStatus.RUNNING, ExperimentStatus.SUCCEEDED, ExperimentStatus.FAILED};
        String[] opts = {"sgd", "adam", "adamw", "Adam"};
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < names.length * 3; i++) {
            ExperimentStatus st = statuses[i % statuses.length];
            Instant created = T0.plusMillis(i / 3);
            Instant started = st == ExperimentStatus.QUEUED ? null : T0.plusSeconds(i % 5);
            Instant ended = st == ExperimentStatus.SUCCEEDED || st == ExperimentStatus.FAILED ? T0.plusSeconds(10 + i % 4) : null;
            Map<String, Object> params = new java.util.LinkedHashMap<>();
            if (i % 7 != 0) {
                params.put("lr", Math.round(random.nextDouble() * 10) / 10.0); // ties, and some rows without lr
            }
            params.put("opt", opts[i % opts.length]);
            params.put("train", Map.of("bs", 16 << (i % 3)));
            if (i % 5 == 0) {
                params.put("loss", i % 2 == 0 ? "text" : 0.25); // a param named as a metric: the param wins
            }
            if (i % 6 == 1) {
                params.put("seed", i % 4 == 1 ? "auto" : (Object) (long) i); // numbers and text in one column
            }
            if (i % 4 != 3) {
                params.put("flag", i % 3 == 0); // JSON booleans: text 'true'/'false' on every database, as in Java
            }
            all.add(new Experiment(String.format("p-%03d", i), names[i % names.length] + (i < names.length ? "" : "-" + i), st,
                    i % 3 == 0 ? "gpu" : "local", CommandSpec.shell("x"), Params.of(params), null, null, created, started, ended,
                    ended == null ? null : i % 2, null, 1, null));
        }
        ledger.insertAll(all);
        Map<String, List<MetricPoint>> metrics = new java.util.LinkedHashMap<>();
        for (int i = 0; i < all.size(); i++) {
            if (i % 5 != 4) {
                metrics.put(all.get(i).id(), List.of(new MetricPoint("loss", 1, Math.round(random.nextDouble() * 8) / 8.0, T0),
                        new MetricPoint("val.acc", 1, i == 9 ? Double.NaN : i % 4, T0)));
            }
        }
        ledger.recordMetrics(metrics);
        Ledger inMemory = inMemoryPages(ledger);

        List<List<String>> filterSets = List.of(List.of(), List.of("lr>0.5"), List.of("loss<=0.4", "opt=adam"), List.of("status=failed"),
                List.of("status!=queued", "executor=gpu"), List.of("opt~adam"), List.of("lr!=0.3"), List.of("params.train.bs>=32"),
                List.of("metrics.val.acc=2"), List.of("name>m"), List.of("executor=gpu", "metrics.loss>0.1"), List.of("opt<b"),
                List.of("seed>3"), List.of("seed=auto"),
                List.of("flag=true"), List.of("params.flag==false"), List.of("flag!=true"), List.of("flag>false"), List.of("flag~ru"), List.of("exit_code=1"), List.of("started<" + T0.plusSeconds(2).toEpochMilli()));
        List<String> sorts = new ArrayList<>(List.of("lr", "loss", "params.lr", "metrics.loss", "metrics.val.acc", "name", "status",
                "opt", "train.bs", "seed", "flag", "params.flag", "created", "started", "ended", "exit_code", "executor", "id"));
        sorts.add(null);
        int checked = 0;
        for (List<String> filters : filterSets) {
            for (String sort : sorts) {
                for (boolean desc : new boolean[] {false, true}) {
                    for (int[] window : new int[][] {{100, 0}, {7, 3}, {5, 30}, {4, 12}}) {
                        TableQuery q = TableQuery.first(window[0]).where(filters.toArray(new String[0])).sortedBy(sort, desc)
                                .page(window[1], window[0]);
                        TablePage page = ledger.tablePage(q);
                        TablePage expected = inMemory.tablePage(q);
                        // the ids first: a short message when the order differs
                        assertThat(page.rows()).as(q.toString()).extracting(v -> v.experiment().id())
                                .containsExactlyElementsOf(expected.rows().stream().map(v -> v.experiment().id()).toList());
                        assertThat(page.total()).as(q.toString()).isEqualTo(expected.total());
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(filterSets.size() * sorts.size() * 2 * 4);
        // and they do select: a filter keeps some rows, not all or none; rows come whole, with their metrics
        TablePage some = ledger.tablePage(TableQuery.first(100).where("lr>0.5").sortedBy("lr", true));
        assertThat(some.total()).isBetween(5, 30);
        assertThat(some.rows().get(0).experiment().params().flatten().get("lr")).isInstanceOf(Double.class);
        TablePage first = ledger.tablePage(TableQuery.first(3));
        assertThat(first.total()).isEqualTo(all.size());
        assertThat(first.rows()).extracting(v -> v.experiment().id()).containsExactly("p-000", "p-001", "p-002");
        assertThat(first.rows().get(0)).isEqualTo(inMemory.tablePage(TableQuery.first(1)).rows().get(0));
        assertThat(first.rows().get(0).metrics()).containsKeys("loss", "val.acc");
        // rows without the value last in both directions, the page boundary between them included
        TablePage started = ledger.tablePage(TableQuery.first(100).sortedBy("started", true));
        assertThat(started.rows().subList(started.rows().size() - 9, started.rows().size()))
                .allSatisfy(v -> assertThat(v.experiment().startedAt()).isNull());
        assertThat(ledger.tablePage(TableQuery.first(0)).rows()).isEmpty();
        assertThat(ledger.tablePage(TableQuery.first(0)).total()).isEqualTo(all.size());
    }

    @Test
    void columnsAreTheNamesThatReadingEveryRowGives() {
        // params in order of first appearance (nested keys flattened), metrics in code-point order, DVC stages; kept
        // through inserts, an experiment pushed with an older creation time, new params on update, and deletes
        java.util.function.Function<Map<String, Object>, Params> p = Params::of;
        String stage = "{\"name\":\"x\",\"stage\":\"train\"}";
        Experiment a = new Experiment("c-1", "a", ExperimentStatus.SUCCEEDED, "local", CommandSpec.shell("x"),
                p.apply(Map.of("lr", 0.1)), null, null, T0.plusSeconds(5), null, null, null, null, 1, null);
        Experiment b = new Experiment("c-2", "b", ExperimentStatus.QUEUED, "local", CommandSpec.shell("x"),
                p.apply(new java.util.LinkedHashMap<>(Map.of("train", Map.of("bs", 8)))), null, stage, T0.plusSeconds(6), null, null, null, null, 1, null);
        java.util.LinkedHashMap<String, Object> olderParams = new java.util.LinkedHashMap<>();
        olderParams.put("opt", "sgd");
        olderParams.put("lr", 0.3);
        olderParams.put("flag", true);
        Experiment older = new Experiment("c-0", "older", ExperimentStatus.SUCCEEDED, "local", CommandSpec.shell("x"),
                p.apply(olderParams), null, null, T0, null, null, null, null, 1, null);
        ledger.insert(a);
        assertThat(ledger.columns()).isEqualTo(dev.sortie.core.ledger.TableColumns.of(ledger.views()));
        ledger.insertAll(List.of(b, older));
        ledger.recordMetrics("c-1", List.of(new MetricPoint("val.acc", 1, 0.5, T0), new MetricPoint("Loss", 1, 0.5, T0)));
        ledger.recordMetrics("c-2", List.of(new MetricPoint("loss", 1, Double.NaN, T0), new MetricPoint("é", 1, 1, T0)));
        dev.sortie.core.ledger.TableColumns cols = ledger.columns();
        assertThat(cols.params()).containsExactly("opt", "lr", "flag", "train.bs");
        assertThat(cols.metrics()).containsExactly("Loss", "loss", "val.acc", "é");
        assertThat(cols.stages()).isTrue();
        assertThat(cols).isEqualTo(dev.sortie.core.ledger.TableColumns.of(ledger.views()));

        // new params on update: 'opt' moves to the next oldest row that has it, 'flag' goes, 'seed' comes
        Experiment a2 = new Experiment(a.id(), a.name(), a.status(), a.executor(), a.command(), p.apply(Map.of("opt", "adam")),
                null, null, a.createdAt(), null, null, null, null, 1, null);
        assertThat(ledger.update(a2, ExperimentStatus.SUCCEEDED)).isTrue();
        java.util.LinkedHashMap<String, Object> newer = new java.util.LinkedHashMap<>(olderParams);
        newer.remove("flag");
        newer.put("seed", 7L);
        assertThat(ledger.update(new Experiment(older.id(), older.name(), older.status(), older.executor(), older.command(),
                p.apply(newer), null, null, older.createdAt(), null, null, null, null, 1, null), ExperimentStatus.SUCCEEDED)).isTrue();
        assertThat(ledger.columns()).isEqualTo(dev.sortie.core.ledger.TableColumns.of(ledger.views()));
        assertThat(ledger.columns().params()).containsExactly("opt", "lr", "seed", "train.bs");

        // deletes: the oldest user of 'opt' and 'lr' goes, then the only one with a stage
        assertThat(ledger.delete("c-0")).isTrue();
        assertThat(ledger.columns()).isEqualTo(dev.sortie.core.ledger.TableColumns.of(ledger.views()));
        assertThat(ledger.columns().params()).containsExactly("opt", "train.bs");
        assertThat(ledger.delete("c-2")).isTrue();
        assertThat(ledger.columns()).isEqualTo(new dev.sortie.core.ledger.TableColumns(List.of("opt"), List.of("Loss", "val.acc"), false));
        assertThat(ledger.delete("c-1")).isTrue();
        assertThat(ledger.columns()).isEqualTo(new dev.sortie.core.ledger.TableColumns(List.of(), List.of(), false));
    }

    /** The ledger with {@link Ledger#tablePage} as its in-memory default (every row read, filtered and sorted in Java). */
    private static Ledger inMemoryPages(Ledger real) {
        return (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(), new Class<?>[] {Ledger.class}, (proxy, method, args) -> {
            if (method.getName().equals("tablePage")) {
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            try {
                return method.invoke(real, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    // ---- artifacts and deletion -------------------------------------------------------------------------------

    @Test
    void artifactsAreReplacedOnTheSamePath() {
        ledger.insert(queued("a-1", "a"));
        ledger.recordArtifacts("a-1", List.of(
                new ArtifactRecord(ArtifactKind.CHECKPOINT, "ckpt/model.pt", "c1", 10, T0),
                new ArtifactRecord(ArtifactKind.ARTIFACT, "model.pt", "h1", 100, T0),
                new ArtifactRecord(ArtifactKind.ARTIFACT, "reports/eval.json", "h2", 5, null)));

        ledger.recordArtifacts("a-1", List.of(new ArtifactRecord(ArtifactKind.ARTIFACT, "model.pt", "h3", 101, T0.plusSeconds(1))));

        assertThat(ledger.artifacts("a-1")).containsExactly(
                new ArtifactRecord(ArtifactKind.ARTIFACT, "model.pt", "h3", 101, T0.plusSeconds(1)),
                new ArtifactRecord(ArtifactKind.ARTIFACT, "reports/eval.json", "h2", 5, null),
                new ArtifactRecord(ArtifactKind.CHECKPOINT, "ckpt/model.pt", "c1", 10, T0));
        assertThat(ledger.artifacts("other")).isEmpty();
        assertThatThrownBy(() -> ledger.recordArtifacts("ghost", List.of(new ArtifactRecord(ArtifactKind.ARTIFACT, "x", "h", 1, T0))))
                .isInstanceOf(LedgerException.class).hasMessageContaining("record artifacts of experiment ghost");
    }

    @Test
    void deleteRemovesEverythingRecorded() {
        ledger.insert(queued("d-1", "doomed"));
        ledger.insert(queued("d-2", "kept"));
        ledger.recordMetrics("d-1", points("loss", 3, 1.0));
        ledger.recordMetrics("d-2", points("loss", 3, 2.0));
        ledger.recordArtifacts("d-1", List.of(new ArtifactRecord(ArtifactKind.ARTIFACT, "m.pt", "h", 1, T0)));

        assertThat(ledger.delete("d-1")).isTrue();

        assertThat(ledger.delete("d-1")).isFalse();
        assertThat(ledger.find("d-1")).isEmpty();
        assertThat(ledger.nameExists("doomed")).isFalse();
        assertThat(ledger.series("d-1", "loss")).isEmpty();
        assertThat(ledger.artifacts("d-1")).isEmpty();
        assertThat(ledger.views()).extracting(v -> v.experiment().id()).containsExactly("d-2");
        assertThat(ledger.series("d-2", "loss")).hasSize(3);
        // the same id again starts with nothing of the old one
        ledger.insert(queued("d-1", "doomed"));
        assertThat(scalars("d-1")).isEmpty();
    }

    @Test
    void aClosedLedgerSaysSo() {
        ledger.close();
        ledger.close();

        assertThatThrownBy(() -> ledger.list()).isInstanceOf(LedgerException.class).hasMessageContaining("closed");
    }

    private Map<String, Double> scalars(String id) {
        return ledger.views().stream().filter(v -> v.experiment().id().equals(id)).findFirst().orElseThrow().metrics();
    }
}
