package dev.sortie.sdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One experiment being reported to Sortie. Made by {@link Sortie#start()}; close it (try-with-resources) when the
 * work is done.
 *
 * <pre>{@code
 * try (Run run = Sortie.start("baseline", Map.of("lr", 0.01))) {
 *     try {
 *         for (int step = 0; step < 100; step++) {
 *             run.log("loss", loss, step);
 *         }
 *         run.logArtifact(Path.of("model.pt"));
 *     } catch (RuntimeException e) {
 *         run.fail(e);   // close() then ends the run as failed
 *         throw e;
 *     }
 * }
 * }</pre>
 *
 * <p>{@code log()} only stores the value in memory and returns (well under a microsecond); a daemon thread writes
 * what was logged to the run's events file every 250 ms, at once when 10,000 points are waiting, on
 * {@link #flush()}, on {@link #close()}, and when the JVM shuts down (normal exit, {@code System.exit}, SIGTERM,
 * Ctrl-C). All methods are safe to call from any thread.
 *
 * <p>How the run ends: outside a scheduled run, {@code close()} ends the tracked experiment as {@code succeeded},
 * or {@code failed} after {@link #fail(Throwable)}; if the JVM exits without {@code close()}, Sortie records the
 * experiment as {@code interrupted} (unless {@code fail()} was called: then {@code failed}). Inside a run started
 * by Sortie the command's exit status decides, and {@code close()} only flushes, unless {@code fail()} was
 * called, which is recorded.
 */
public final class Run implements AutoCloseable {
    private static final Set<Run> OPEN = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean HOOK_INSTALLED = new AtomicBoolean();

    private final String id;
    private final String name;
    private final boolean scheduled;
    private final Path artifactDir;
    private final EventWriter writer;

    private final Object state = new Object();
    private boolean closed; // guarded by state
    private boolean failed; // guarded by state
    private String failure; // guarded by state: the error text of the first fail(), or null

    /** Posts the events file to a server (a run reporting to {@code SORTIE_SERVER}), or null. */
    private final ServerReporter reporter;

    Run(String id, String name, boolean scheduled, Path eventsFile, Path artifactDir) throws IOException {
        this(id, name, scheduled, eventsFile, artifactDir, null);
    }

    Run(String id, String name, boolean scheduled, Path eventsFile, Path artifactDir, ServerReporter reporter) throws IOException {
        this.reporter = reporter;
        this.id = id;
        this.name = name;
        this.scheduled = scheduled;
        this.artifactDir = artifactDir;
        this.writer = new EventWriter(eventsFile, name != null ? name : id != null ? id : eventsFile.toString());
        installShutdownHook();
        OPEN.add(this);
    }

    // ------------------------------------------------------------------------------------------------------
    // What it is

    /** The experiment's id ({@code $SORTIE_EXPERIMENT_ID} inside a scheduled run; null if Sortie did not say). */
    public String id() {
        return id;
    }

    /** The experiment's name ({@code $SORTIE_EXPERIMENT_NAME} inside a scheduled run). */
    public String name() {
        return name;
    }

    /** True when attached to a run Sortie started ({@code sortie run}, the queue); false for a tracked run. */
    public boolean insideScheduledRun() {
        return scheduled;
    }

    /** The events file this run appends to. */
    public Path eventsFile() {
        return writer.path();
    }

    /** Where files written are saved as artifacts when the run ends, if Sortie said. */
    public Optional<Path> artifactDir() {
        return Optional.ofNullable(artifactDir);
    }

    /**
     * How the Sortie server ended this tracked run while the program went on: {@code "stopped: stopped by user"}
     * after {@code sortie stop}, {@code "interrupted: lost: ..."} when it gave the run up as lost. Learnt from the
     * answer to the run's next post (within a heartbeat); a training loop that checks it ends itself. Empty while
     * the run goes on, and always outside a server.
     */
    public Optional<String> endedOnServer() {
        return reporter == null ? Optional.empty() : Optional.ofNullable(reporter.endedOnServer());
    }

    // ------------------------------------------------------------------------------------------------------
    // Metrics

    /**
     * Logs one value of metric {@code name}, at the next step of its series (0, 1, 2... numbered by Sortie).
     * NaN and the infinities are kept.
     *
     * @throws IllegalArgumentException if {@code name} is null or empty
     * @throws IllegalStateException    if the run is closed
     */
    public void log(String name, double value) {
        writer.add(checkName(name), value, EventWriter.NO_STEP);
    }

    /**
     * Logs one value of metric {@code name} at {@code step}.
     *
     * @throws IllegalArgumentException if {@code name} is null or empty, or {@code step} is negative
     * @throws IllegalStateException    if the run is closed
     */
    public void log(String name, double value, long step) {
        writer.add(checkName(name), value, checkStep(step));
    }

    /**
     * Logs several metrics at once, each at the next step of its own series.
     *
     * @throws IllegalArgumentException for a null map, a null or empty name, or a null value
     * @throws IllegalStateException    if the run is closed
     */
    public void log(Map<String, ? extends Number> values) {
        logAll(values, EventWriter.NO_STEP);
    }

    /**
     * Logs several metrics at {@code step}: {@code run.log(Map.of("loss", 0.3, "acc", 0.9), 5)}.
     *
     * @throws IllegalArgumentException for a null map, a null or empty name, a null value, or a negative step
     * @throws IllegalStateException    if the run is closed
     */
    public void log(Map<String, ? extends Number> values, long step) {
        logAll(values, checkStep(step));
    }

    private void logAll(Map<String, ? extends Number> values, long step) {
        if (values == null) {
            throw new IllegalArgumentException("sortie: metrics must be a map of name to number, got null");
        }
        int n = values.size();
        if (n == 0) {
            return;
        }
        String[] names = new String[n];
        double[] numbers = new double[n];
        int i = 0;
        for (Map.Entry<String, ? extends Number> e : values.entrySet()) {
            if (i == n) {
                throw new IllegalArgumentException("sortie: the metrics map changed while it was logged");
            }
            Object key = e.getKey();
            if (key != null && !(key instanceof String)) { // a raw map
                throw new IllegalArgumentException("sortie: metric names must be strings, got "
                        + key.getClass().getName() + " " + key);
            }
            names[i] = checkName((String) key);
            Object v = e.getValue();
            if (!(v instanceof Number)) {
                throw new IllegalArgumentException("sortie: metric '" + names[i] + "' must be a number, got "
                        + (v == null ? "null" : v.getClass().getName() + " " + v));
            }
            numbers[i] = ((Number) v).doubleValue();
            i++;
        }
        if (i == 1) {
            writer.add(names[0], numbers[0], step);
        } else {
            writer.addEvent(new EventWriter.Metrics(i == n ? names : java.util.Arrays.copyOf(names, i),
                    i == n ? numbers : java.util.Arrays.copyOf(numbers, i)), step, i, false);
        }
    }

    private static String checkName(String name) {
        if (name == null || name.isEmpty() || (name.charAt(0) <= ' ' && name.isBlank())) {
            throw new IllegalArgumentException("sortie: a metric name must be a non-empty string, got "
                    + (name == null ? "null" : "\"" + name + "\""));
        }
        return name;
    }

    private static long checkStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("sortie: a step must be 0 or more, got " + step);
        }
        return step;
    }

    // ------------------------------------------------------------------------------------------------------
    // Params and files

    /**
     * Records params: values may be strings, numbers, booleans, null, nested maps, lists and arrays (anything else
     * is recorded as its {@code toString()}). Sortie keeps them for tracked runs; a scheduled run's params are
     * fixed by {@code sortie run}, and these are ignored there.
     *
     * @throws IllegalArgumentException for a null map or a name that is not a string
     */
    public void logParams(Map<String, ?> params) {
        if (params == null) {
            throw new IllegalArgumentException("sortie: params must be a map, got null");
        }
        writer.addEvent(new EventWriter.Params(Json.write(params)), EventWriter.NO_STEP, 1, false);
    }

    /**
     * Saves a file or folder into Sortie's store as an artifact: at once, and again when the run ends if it
     * changed. A relative path is taken from the current working directory.
     *
     * @throws IllegalArgumentException if it does not exist
     */
    public void logArtifact(Path path) {
        logFile(path, "artifact");
    }

    /** Like {@link #logArtifact(Path)}, for a checkpoint (restored when an interrupted run resumes). */
    public void logCheckpoint(Path path) {
        logFile(path, "checkpoint");
    }

    private void logFile(Path path, String kind) {
        if (path == null) {
            throw new IllegalArgumentException("sortie: the " + kind + " path is null");
        }
        Path abs = path.toAbsolutePath().normalize();
        if (!Files.exists(abs)) {
            throw new IllegalArgumentException("sortie: no such file or folder to save as " + kind + ": " + abs);
        }
        writer.addEvent(new EventWriter.Artifact(abs.toString(), kind), EventWriter.NO_STEP, 1, true);
    }

    // ------------------------------------------------------------------------------------------------------
    // Ending

    /**
     * Marks the run failed with {@code error} (its {@code toString()}: class and message): {@link #close()} then
     * ends it as failed. The first failure is the one recorded.
     *
     * @throws IllegalStateException if the run is already closed (call fail() inside the try block)
     */
    public void fail(Throwable error) {
        markFailed(error == null ? null : error.toString());
    }

    /** Marks the run failed with a message (may be null); see {@link #fail(Throwable)}. */
    public void fail(String message) {
        markFailed(message);
    }

    private void markFailed(String text) {
        synchronized (state) {
            if (closed) {
                throw new IllegalStateException("sortie: run " + name + " is closed; call fail() before close()");
            }
            if (!failed) {
                failed = true;
                failure = text;
            }
        }
    }

    /** True after {@link #fail(Throwable)} or {@link #fail(String)}. */
    public boolean failed() {
        synchronized (state) {
            return failed;
        }
    }

    /**
     * Writes everything logged so far to the events file now.
     *
     * @throws UncheckedIOException if the file cannot be written (what was logged is kept for the next try)
     */
    public void flush() {
        try {
            writer.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("sortie: cannot write events to " + eventsFile(), e);
        }
    }

    /**
     * Writes what is left and ends the run: outside a scheduled run as {@code succeeded}, or {@code failed}
     * after {@code fail()}; inside one only a failure is recorded (the command's exit decides). Logging after
     * close() is an error; a second close() does nothing.
     *
     * @throws UncheckedIOException if the last events cannot be written
     */
    @Override
    public void close() {
        EventWriter.End end;
        synchronized (state) {
            if (closed) {
                return;
            }
            closed = true;
            end = failed ? new EventWriter.End("failed", failure)
                    : scheduled ? null : new EventWriter.End("succeeded", null);
        }
        OPEN.remove(this);
        try {
            writer.close(end);
        } catch (IOException e) {
            throw new UncheckedIOException("sortie: cannot write the last events to " + eventsFile(), e);
        } finally {
            if (reporter != null) {
                reporter.finish(null, null); // what is left goes to the server (waiting a while for one that is down)
            }
        }
    }

    /** True after {@link #close()}. */
    public boolean isClosed() {
        synchronized (state) {
            return closed;
        }
    }

    @Override
    public String toString() {
        return "Run[" + name + ", id=" + id + (scheduled ? ", scheduled" : "") + (isClosed() ? ", closed" : "") + "]";
    }

    // ------------------------------------------------------------------------------------------------------
    // JVM shutdown

    private static void installShutdownHook() {
        if (HOOK_INSTALLED.compareAndSet(false, true)) {
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(Run::atExit, "sortie-shutdown"));
            } catch (IllegalStateException shuttingDown) {
                // already shutting down: nothing to add the hook to
            }
        }
    }

    /** Every run not closed: written out; one marked failed is ended as failed, the others only flushed. */
    private static void atExit() {
        for (Run run : OPEN) {
            try {
                run.onExit();
            } catch (Throwable e) {
                System.err.println("sortie: could not write the events of run " + run.name + " at exit: " + e);
            }
        }
    }

    private void onExit() throws IOException {
        boolean end;
        synchronized (state) {
            if (closed) {
                return;
            }
            end = failed;
        }
        if (end) {
            close(); // an `end` event with the failure, then the file closed
        } else {
            // No `end`: for a tracked run the watcher sees this process gone and records it interrupted (we
            // cannot tell a normal exit from SIGTERM here); inside a scheduled run the exit status decides.
            writer.flush();
            if (reporter != null) {
                // no watcher on a server: say so ourselves, as the watcher would
                reporter.finish("interrupted", "the process exited without closing the run");
            }
        }
    }
}
