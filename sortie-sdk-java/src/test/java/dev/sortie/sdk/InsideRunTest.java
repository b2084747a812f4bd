package dev.sortie.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inside a scheduled run: $SORTIE_EVENTS_FILE is set (here through the env map, never the real environment). */
class InsideRunTest {
    @TempDir
    Path dir;
    Path events;
    Map<String, String> env;

    @BeforeEach
    void setUp() {
        events = dir.resolve("run").resolve("events.jsonl");
        env = new HashMap<>();
        env.put("SORTIE_EVENTS_FILE", events.toString());
        env.put("SORTIE_EXPERIMENT_ID", "abc123def0");
        env.put("SORTIE_EXPERIMENT_NAME", "mnist-7");
        env.put("SORTIE_ARTIFACT_DIR", dir.resolve("artifacts").toString());
    }

    private Run start() {
        return Sortie.builder().env(env).workingDirectory(dir).start();
    }

    @Test
    void attachesToTheScheduledRun() {
        try (Run run = Sortie.builder().env(env).workingDirectory(dir).name("ignored").start()) {
            assertThat(run.insideScheduledRun()).isTrue();
            assertThat(run.id()).isEqualTo("abc123def0");
            assertThat(run.name()).isEqualTo("mnist-7");
            assertThat(run.eventsFile()).isEqualTo(events);
            assertThat(run.artifactDir()).contains(dir.resolve("artifacts"));
        }
    }

    @Test
    void aRelativeEventsFileIsTakenFromTheWorkingDirectory() {
        env.put("SORTIE_EVENTS_FILE", "rel/events.jsonl");
        env.remove("SORTIE_ARTIFACT_DIR");
        try (Run run = start()) {
            assertThat(run.eventsFile()).isEqualTo(dir.resolve("rel/events.jsonl"));
            assertThat(run.artifactDir()).isEmpty();
        }
    }

    @Test
    void eventsAreWholeJsonLinesInOrderAndComplete() throws Exception {
        try (Run run = start()) {
            for (int i = 0; i < 1000; i++) {
                run.log("loss", 1.0 / (i + 1), i);
                run.log("acc", i / 1000.0, i);
            }
            run.log("note \"quoted\"\n\u00e9", 1.5);
        }
        String text = Files.readString(events);
        assertThat(text).endsWith("\n");
        List<Map<String, Object>> all = Events.read(events);
        assertThat(all).allSatisfy(e -> assertThat(e.get("e")).isEqualTo("m"));
        List<Object> loss = Events.metric(all, "loss");
        assertThat(loss).hasSize(1000);
        for (int i = 0; i < 1000; i++) {
            assertThat(((Number) loss.get(i)).doubleValue()).isEqualTo(1.0 / (i + 1));
        }
        assertThat(Events.metric(all, "acc")).hasSize(1000);
        assertThat(Events.metric(all, "note \"quoted\"\n\u00e9")).containsExactly(1.5);
        // each event carries its time: epoch seconds, within this test
        double now = System.currentTimeMillis() / 1000.0;
        assertThat(all).allSatisfy(e -> assertThat(((Number) e.get("t")).doubleValue()).isBetween(now - 60, now + 1));
    }

    @Test
    void steps() throws Exception {
        try (Run run = start()) {
            run.log("loss", 0.3);
            run.log("loss", 0.25, 5);
            run.log(Map.of("acc", 0.9), 5); // same step as the line before, logged together: the same line
            run.log("a", 1, 7);
            run.log("b", 2, 7); // same step, logged together: one line
            run.log("x", 1);
            run.log("x", 2); // the same metric again without a step: a line of its own
            Map<String, Number> several = new LinkedHashMap<>();
            several.put("p", 1);
            several.put("q", 2.5f);
            several.put("r", 3L);
            run.log(several, 9);
            run.log(several);
            run.log(Map.of()); // nothing
        }
        List<Map<String, Object>> m = Events.read(events);
        assertThat(m).extracting(e -> e.get("s"))
                .containsExactly(null, 5L, 7L, null, null, 9L, null);
        assertThat(m).extracting(Events::values).containsExactly(
                Map.of("loss", 0.3), Map.of("loss", 0.25, "acc", 0.9), Map.of("a", 1L, "b", 2L),
                Map.of("x", 1L), Map.of("x", 2L), Map.of("p", 1L, "q", 2.5, "r", 3L), Map.of("p", 1L, "q", 2.5, "r", 3L));
        assertThat(Files.readString(events)).contains("{\"p\":1,\"q\":2.5,\"r\":3}");
    }

    @Test
    void nonFiniteValuesAreTheProtocolsStrings() throws Exception {
        try (Run run = start()) {
            run.log("nan", Double.NaN);
            run.log("inf", Double.POSITIVE_INFINITY);
            run.log("ninf", Double.NEGATIVE_INFINITY);
            run.log(Map.of("mapnan", Double.NaN), 1);
            run.log("tiny", 1e-300);
            run.log("huge", 1.5e300);
        }
        List<Map<String, Object>> all = Events.read(events);
        assertThat(Events.metric(all, "nan")).containsExactly("NaN");
        assertThat(Events.metric(all, "inf")).containsExactly("Infinity");
        assertThat(Events.metric(all, "ninf")).containsExactly("-Infinity");
        assertThat(Events.metric(all, "mapnan")).containsExactly("NaN");
        assertThat(Events.metric(all, "tiny")).containsExactly(1e-300);
        assertThat(Events.metric(all, "huge")).containsExactly(1.5e300);
    }

    @Test
    void badNamesValuesAndStepsAreClearErrors() {
        try (Run run = start()) {
            assertThatThrownBy(() -> run.log((String) null, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("metric name must be a non-empty string").hasMessageContaining("null");
            assertThatThrownBy(() -> run.log("", 1, 3)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("non-empty");
            assertThatThrownBy(() -> run.log("  ", 1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> run.log(Map.of("", 1), 1)).isInstanceOf(IllegalArgumentException.class);
            Map<String, Double> withNull = new HashMap<>();
            withNull.put("loss", null);
            assertThatThrownBy(() -> run.log(withNull)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'loss' must be a number");
            assertThatThrownBy(() -> run.log((Map<String, Number>) null)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> run.log("loss", 1, -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("step");
            run.log(" padded ", 1); // not blank: fine
        }
    }

    @Test
    void params() throws Exception {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("lr", 0.01);
        params.put("epochs", 10);
        params.put("model", Map.of("layers", List.of(64, 32)));
        params.put("name", "a \"b\"\tc");
        params.put("none", null);
        params.put("on", true);
        try (Run run = Sortie.builder().env(env).workingDirectory(dir).params(params).start()) {
            run.logParams(Map.of("extra", Double.NaN, "arr", new int[] {1, 2}));
            Map<Object, Object> raw = new HashMap<>();
            raw.put(1, "x");
            @SuppressWarnings("unchecked")
            Map<String, ?> bad = (Map<String, ?>) (Map<?, ?>) raw;
            assertThatThrownBy(() -> run.logParams(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("param names must be strings");
        }
        List<Map<String, Object>> p = Events.ofKind(Events.read(events), "p");
        assertThat(p).hasSize(2);
        Map<String, Object> expected = new LinkedHashMap<>(params);
        expected.put("lr", 0.01);
        expected.put("epochs", 10L);
        expected.put("model", Map.of("layers", List.of(64L, 32L)));
        assertThat(Events.values(p.get(0))).isEqualTo(expected);
        assertThat(Events.values(p.get(1))).isEqualTo(Map.of("extra", "NaN", "arr", List.of(1L, 2L)));
    }

    @Test
    void artifactsAndCheckpoints() throws Exception {
        Path model = Files.writeString(dir.resolve("model.pt"), "weights");
        Path ckpt = Files.createDirectories(dir.resolve("checkpoints"));
        try (Run run = start()) {
            run.logArtifact(model);
            run.logCheckpoint(ckpt);
            run.logArtifact(dir.resolve("checkpoints/../model.pt"));
            assertThatThrownBy(() -> run.logArtifact(dir.resolve("missing.bin")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing.bin");
        }
        List<Map<String, Object>> a = Events.ofKind(Events.read(events), "a");
        assertThat(a).extracting(e -> e.get("path"), e -> e.get("kind")).containsExactly(
                org.assertj.core.groups.Tuple.tuple(model.toString(), "artifact"),
                org.assertj.core.groups.Tuple.tuple(ckpt.toString(), "checkpoint"),
                org.assertj.core.groups.Tuple.tuple(model.toString(), "artifact"));
    }

    @Test
    void relativeArtifactPathsAreMadeAbsolute() throws Exception {
        Path here = Path.of("").toAbsolutePath();
        Path file = Files.createTempFile(here.resolve("target"), "artifact", ".txt");
        try {
            try (Run run = start()) {
                run.logArtifact(here.relativize(file));
            }
            assertThat(Events.ofKind(Events.read(events), "a")).extracting(e -> e.get("path"))
                    .containsExactly(file.toString());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void closeOnlyFlushesInsideAScheduledRun() throws Exception {
        Run run = start();
        run.log("loss", 1);
        run.close();
        run.close(); // a second close does nothing
        assertThat(Events.read(events)).extracting(e -> e.get("e")).containsExactly("m");
        assertThat(run.isClosed()).isTrue();
        assertThatThrownBy(() -> run.log("loss", 2)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> run.fail("late")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("before close");
    }

    @Test
    void closeStopsTheFlusherThread() throws Exception {
        java.util.Set<Thread> before = flushers();
        Run run = start();
        java.util.Set<Thread> mine = flushers();
        mine.removeAll(before);
        assertThat(mine).hasSize(1);
        Thread flusher = mine.iterator().next();
        assertThat(flusher.isDaemon()).isTrue();
        run.close();
        flusher.join(5000);
        assertThat(flusher.isAlive()).isFalse();
    }

    private static java.util.Set<Thread> flushers() {
        java.util.Set<Thread> out = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("sortie-flusher") && t.isAlive()) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void failThenCloseWritesEndFailed() throws Exception {
        try (Run run = start()) {
            run.log("loss", 1);
            run.fail(new IllegalStateException("diverged: loss is NaN"));
            run.fail("a second failure is not the one recorded");
            assertThat(run.failed()).isTrue();
        }
        List<Map<String, Object>> all = Events.read(events);
        assertThat(all).extracting(e -> e.get("e")).containsExactly("m", "end");
        Map<String, Object> end = all.get(1);
        assertThat(end.get("status")).isEqualTo("failed");
        assertThat(end.get("error")).isEqualTo("java.lang.IllegalStateException: diverged: loss is NaN");
    }

    @Test
    void failWithAMessageOrNone() throws Exception {
        try (Run run = start()) {
            run.fail((String) null);
        }
        Map<String, Object> end = Events.ofKind(Events.read(events), "end").get(0);
        assertThat(end).containsEntry("status", "failed").doesNotContainKey("error");
    }

    @Test
    void flushesInTheBackgroundWithoutClose() throws Exception {
        try (Run run = start()) {
            run.log("loss", 0.5, 1);
            Awaitility.await("a line flushed").atMost(Duration.ofSeconds(5)).until(() -> Events.completeLines(events) > 0);
            assertThat(Events.metric(Events.read(events), "loss")).containsExactly(0.5);
            run.log("loss", 0.4, 2);
            run.flush(); // and at once on flush()
            assertThat(Events.metric(Events.read(events), "loss")).containsExactly(0.5, 0.4);
        }
    }

    @Test
    void aFullBufferIsWrittenAtOnce() throws Exception {
        Path file = dir.resolve("full.jsonl");
        EventWriter w = new EventWriter(file, "full", TimeUnit.HOURS.toNanos(1), 10_000);
        try {
            for (int i = 0; i < 9_999; i++) {
                w.add("x", i, i);
            }
            // not yet: the interval is an hour
            Awaitility.await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> Events.completeLines(file) == 0);
            w.add("x", 9_999, 9_999);
            Awaitility.await("10000 lines").atMost(Duration.ofSeconds(10)).until(() -> Events.completeLines(file) >= 10_000);
            assertThat(Events.metric(Events.read(file), "x")).hasSize(10_000);
        } finally {
            w.close(null);
        }
    }

    @Test
    void eachFlushIsOneAppendOfWholeLines() throws Exception {
        // Another writer appends to the same file between our flushes (as a second process would): with O_APPEND
        // nothing is overwritten and every line stays whole.
        try (Run a = start(); Run b = start()) {
            for (int i = 0; i < 5000; i++) {
                a.log("a", i, i);
                b.log("b", i, i);
                if (i % 1000 == 0) {
                    a.flush();
                    b.flush();
                }
            }
        }
        List<Map<String, Object>> all = Events.read(events);
        assertThat(Events.metric(all, "a")).hasSize(5000);
        assertThat(Events.metric(all, "b")).hasSize(5000);
    }

    @Test
    void eightThreadsLoggingAtOnceLoseNothing() throws Exception {
        int threads = 8;
        int perThread = 50_000;
        List<Thread> workers = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        try (Run run = start()) {
            for (int t = 0; t < threads; t++) {
                String name = "t" + t;
                Thread w = new Thread(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < perThread; i++) {
                            if (i % 1000 == 999) {
                                run.log(Map.of(name, i), i);
                            } else {
                                run.log(name, i, i);
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                w.start();
                workers.add(w);
            }
            go.countDown();
            for (Thread w : workers) {
                w.join();
            }
        }
        assertThat(errors).isEmpty();
        List<Map<String, Object>> all = Events.read(events);
        for (int t = 0; t < threads; t++) {
            List<Object> values = Events.metric(all, "t" + t);
            assertThat(values).as("thread %d", t).hasSize(perThread);
            for (int i = 0; i < perThread; i++) {
                assertThat(((Number) values.get(i)).longValue()).isEqualTo(i); // in order, none lost or doubled
            }
        }
        // and every step is where it belongs
        long bad = Events.ofKind(all, "m").stream()
                .filter(e -> Events.values(e).values().stream().anyMatch(v -> ((Number) v).longValue() != (Long) e.get("s")))
                .count();
        assertThat(bad).isZero();
    }
}
