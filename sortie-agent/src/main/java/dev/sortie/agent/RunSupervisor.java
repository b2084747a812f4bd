package dev.sortie.agent;

import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.MetricsNotRecordedException;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.util.Trace;
import dev.sortie.core.util.Hosts;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs one attempt of an experiment on this machine and watches it: the command writes straight into the log
 * file; one thread tails that file (streaming lines and metrics), polls metric files, saves checkpoints on an
 * interval, enforces the timeout, and at the end saves the last checkpoints and the artifacts.
 *
 * <p>All listener calls come from that one thread, in order. The same supervisor serves the local executor
 * (inside {@code sortie run}) and, on remote hosts, the agent.
 */
public final class RunSupervisor implements Execution {
    private static final System.Logger LOG = System.getLogger(RunSupervisor.class.getName());
    static final Duration METRIC_FLUSH = Duration.ofMillis(250);
    /** A burst of metrics is written in batches this big: one ledger transaction per batch, not per line. */
    static final int FLUSH_POINTS = 20_000;
    static final Duration FILE_POLL = Duration.ofSeconds(2);
    /** After metrics could not be recorded (a full disk), how long before trying again. */
    static final Duration RECORD_RETRY = Duration.ofSeconds(2);
    /**
     * Metric points kept while they cannot be recorded (about 100 bytes each): a run on a full disk keeps its
     * latest metrics up to this many; past it the oldest unrecorded ones go, and the log says how many.
     */
    static final int MAX_UNRECORDED = 200_000;
    /** How often CPU, memory and GPU use are sampled while a command runs. */
    static final Duration SYSTEM_SAMPLE = Duration.ofSeconds(5);
    /** The first sample comes early, so runs of a few seconds show their footprint too. */
    static final Duration SYSTEM_FIRST_SAMPLE = Duration.ofSeconds(1);
    private static final int TAIL_SLEEP_MS = 20;
    /**
     * How long what a command left running (a {@code sleep &}, a server it started) gets after the command ended,
     * between SIGTERM and SIGKILL: its work folder is about to be collected and removed under it.
     */
    static final Duration LEFTOVER_GRACE = Duration.ofSeconds(5);

    /**
     * The type of the locators of runs this supervisor watches in its own process: the local executor's, whose
     * value is a {@link ProcessLocation} (this process and the command). A host's agent turns it into its journal.
     */
    public static final String LOCATOR_TYPE = "local";

    private final RunSpec spec;
    private final CompletableFuture<RunOutcome> outcome = new CompletableFuture<>();
    private final CompletableFuture<RunLocator> firstHandle = new CompletableFuture<>();
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private volatile boolean timedOut;
    private volatile RunLocator handle;
    private volatile Process current;
    /** Set once the log is no longer tailed: a note of sortie's then goes to the listener directly. */
    private volatile boolean logClosed;
    private volatile IOException infrastructureFailure;
    private final Thread thread;

    private RunSupervisor(RunSpec spec) {
        this.spec = spec;
        this.thread = new Thread(this::supervise, "sortie-run-" + spec.experimentId());
    }

    /** Starts the attempt and returns once its first process runs (or the attempt has already ended). */
    public static RunSupervisor start(RunSpec spec) throws IOException {
        RunSupervisor s = new RunSupervisor(spec);
        Files.createDirectories(spec.logFile().toAbsolutePath().getParent());
        s.thread.start();
        try {
            s.firstHandle.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
        return s;
    }

    @Override
    public RunLocator handle() {
        return handle;
    }

    @Override
    public RunOutcome await() throws InterruptedException {
        try {
            return outcome.get();
        } catch (ExecutionException e) {
            LOG.log(System.Logger.Level.WARNING, "the supervisor of a run failed", e.getCause());
            return new RunOutcome(ExperimentStatus.FAILED, null, "supervisor error: " + e.getCause());
        }
    }

    @Override
    public java.util.Optional<IOException> infrastructureFailure() {
        return java.util.Optional.ofNullable(infrastructureFailure);
    }

    /** Stops the attempt: SIGTERM to the process group, SIGKILL after {@code grace}. Returns at once. */
    @Override
    public void stop(Duration grace) {
        if (!stopRequested.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            Process p = current;
            if (p != null) {
                ProcessGroups.terminate(p.pid(), grace);
            }
        }, "sortie-stop-" + spec.experimentId());
        t.setDaemon(true);
        t.start();
    }

    private void supervise() {
        Watch watch = new Watch();
        RunOutcome result;
        try {
            result = runStages(watch);
        } catch (InterruptedException e) {
            result = new RunOutcome(ExperimentStatus.INTERRUPTED, null, "not started: sortie is shutting down");
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "sortie could not run the command", t);
            result = new RunOutcome(ExperimentStatus.FAILED, null, "sortie could not run the command: " + t.getMessage());
            appendToLog("[sortie] " + result.error());
        }
        if (infrastructureFailure != null) {
            appendToLog("[sortie] " + infrastructureFailure.getMessage());
            result = new RunOutcome(ExperimentStatus.FAILED, result.exitCode(), (result.exitCode() == null ? ""
                    : "the command ran (exit code " + result.exitCode() + ") but ") + infrastructureFailure.getMessage());
        }
        try {
            watch.finish();
            Trace.mark("outputs saved");
        } catch (MetricsNotRecordedException e) {
            // The command ran; the machine could not keep what it reported. Said as such, not as the command's failure.
            infrastructureFailure = e;
            appendToLog("[sortie] " + e.getMessage());
            result = new RunOutcome(ExperimentStatus.FAILED, result.exitCode(), (result.exitCode() == null ? ""
                    : "the command ran (exit code " + result.exitCode() + ") but ") + e.getMessage());
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "saving the outputs of a run failed", t);
            appendToLog("[sortie] saving outputs failed: " + t.getMessage());
            if (result.status() == ExperimentStatus.SUCCEEDED) {
                result = new RunOutcome(ExperimentStatus.FAILED, result.exitCode(), "saving outputs failed: " + t.getMessage());
            }
        }
        firstHandle.complete(handle);
        outcome.complete(result);
    }

    private RunOutcome runStages(Watch watch) throws IOException, InterruptedException {
        RunOutcome ran = null;
        try {
            spec.listener().launching();
            ran = runStagesAdmitted(watch);
            return ran;
        } finally {
            try {
                spec.listener().commandExited();
            } catch (RuntimeException e) {
                if (ran == null) {
                    throw e;
                }
                // The command ran: that its exit could not be reported (the disk under a host's journal is full) is
                // the machine's failure, said beside the command's result rather than instead of it.
                LOG.log(System.Logger.Level.WARNING, "the exit of the command could not be reported", e);
                infrastructureFailure = new IOException("its exit could not be recorded: " + e.getMessage(), e);
            }
        }
    }

    private RunOutcome runStagesAdmitted(Watch watch) throws IOException, InterruptedException {
        List<List<String>> stages = spec.stages();
        for (int i = 0; i < stages.size(); i++) {
            boolean last = i == stages.size() - 1;
            List<String> argv = stages.get(i);
            String missing = missingProgram(argv);
            if (missing != null) {
                appendToLog("[sortie] command '" + missing + "' not found (looked in PATH of the run)");
                return new RunOutcome(ExperimentStatus.FAILED, 127, "command '" + missing + "' not found");
            }
            if (stopRequested.get()) {
                return new RunOutcome(ExperimentStatus.STOPPED, null, "stopped before it started");
            }
            Process p = launch(argv);
            Trace.mark("spawned pid " + p.pid());
            current = p;
            handle = new RunLocator(LOCATOR_TYPE, Hosts.name(), new ProcessLocation(ProcessHandle.current().pid(),
                    ProcessHandle.current().info().startInstant().orElse(null), p.pid(),
                    p.toHandle().info().startInstant().orElse(null)).value());
            spec.listener().started(handle);
            firstHandle.complete(handle);
            int code = watch.follow(p);
            Trace.mark("exited pid " + p.pid() + " code " + code);
            endLeftovers(p.pid());
            if (stopRequested.get()) {
                if (timedOut) {
                    return new RunOutcome(ExperimentStatus.FAILED, code, "timed out after " + spec.task().timeout().toString().substring(2).toLowerCase(java.util.Locale.ROOT));
                }
                return new RunOutcome(ExperimentStatus.STOPPED, code, "stopped");
            }
            if (code != 0) {
                String what = last ? "" : "setup ";
                String why = what + "exited with code " + code + explain(code);
                if (last && watch.sdkError != null) {
                    why = watch.sdkError + " (" + why + ")";
                }
                return new RunOutcome(ExperimentStatus.FAILED, code, why);
            }
        }
        return new RunOutcome(ExperimentStatus.SUCCEEDED, 0, null);
    }

    /**
     * Ends what the command left running in its process group (SIGTERM, {@link #LEFTOVER_GRACE}, SIGKILL): the
     * run is over, and its work folder is collected and removed next. A child that made a session of its own
     * ({@code setsid}, a daemon) is out of reach, as it is for a stop.
     */
    private void endLeftovers(long processGroup) {
        if (!ProcessGroups.groupsSupported() || !ProcessGroups.groupAlive(processGroup)) {
            return;
        }
        appendToLog("[sortie] the command left processes running (process group " + processGroup
                + "); ending them (SIGTERM, SIGKILL after " + LEFTOVER_GRACE.toSeconds() + "s)");
        ProcessGroups.terminate(processGroup, LEFTOVER_GRACE);
    }

    private Process launch(List<String> argv) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(ProcessGroups.inNewGroup(argv));
        pb.directory(spec.cwd().toFile());
        Map<String, String> env = pb.environment();
        env.putAll(spec.environment());
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(spec.logFile().toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        return pb.start();
    }

    /** The program of an argv that is neither a path nor on the run's PATH, or null. Shell lines are checked by the shell. */
    private String missingProgram(List<String> argv) {
        String program = argv.get(0);
        if (program.contains("/")) {
            Path p = spec.cwd().resolve(program);
            return Files.isExecutable(p) ? null : program;
        }
        String path = spec.environment().getOrDefault("PATH", System.getenv().getOrDefault("PATH", ""));
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return null;
            }
        }
        return program;
    }

    private static String explain(int code) {
        if (code == 127) {
            return " (command not found)";
        }
        if (code == 126) {
            return " (command not executable)";
        }
        if (code > 128 && code < 160) {
            return " (killed by signal " + (code - 128) + ")";
        }
        return "";
    }

    /** A note of sortie's, in the log; while the log is tailed, the tailer passes it on with the command's output. */
    private void appendToLog(String line) {
        try {
            // A note starts its own line: glued to output that did not end with one ('printf loss=7'), it would hide
            // that line's metrics and read as the program's.
            String prefix = endsMidLine(spec.logFile()) ? "\n" : "";
            Files.writeString(spec.logFile(), prefix + line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // The log is gone with its folder (or its disk is full): people still see the note.
            LOG.log(System.Logger.Level.DEBUG, "could not add a note to the log {0}: {1}", spec.logFile(), e.getMessage());
            spec.listener().output(line);
            return;
        }
        if (logClosed) {
            spec.listener().output(line);
        }
    }


    private static boolean endsMidLine(Path log) throws IOException {
        try (java.nio.channels.SeekableByteChannel c = Files.newByteChannel(log, StandardOpenOption.READ)) {
            long size = c.size();
            if (size == 0) {
                return false;
            }
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            c.position(size - 1).read(last);
            return last.get(0) != '\n';
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }

    /** The watching half: tail, metrics, metric files, checkpoints, timeout. Runs on the supervisor thread. */
    private final class Watch {
        private final LogTailer tailer;
        private final LogTailer events;
        private final List<RunEvents.Artifact> requested = new ArrayList<>();
        /** Why the run failed, as the SDK saw it (an exception's type and message): better than an exit code. */
        private volatile String sdkError;
        private final MetricCollector metrics;
        private final OutputCollector outputs;
        private final WorkFolders paths = new WorkFolders(spec.task(), spec.workRoot(), spec.cwd());
        /** DVC's plot files there before the run: only those it writes or changes are kept (see DvcPlotFiles). */
        private final DvcPlotFiles plots = DvcPlotFiles.beforeTheRun(spec.workRoot(), spec.cwd());
        private final List<MetricPoint> pending = new ArrayList<>();
        private final long started = System.nanoTime();
        private final java.util.concurrent.ConcurrentLinkedQueue<MetricPoint> sampled = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private java.util.concurrent.ScheduledExecutorService sampler;
        private long lastFlush = System.nanoTime();
        private long lastFilePoll = System.nanoTime();
        private long lastCheckpoint = System.nanoTime();

        Watch() {
            long start;
            try {
                start = Files.exists(spec.logFile()) ? Files.size(spec.logFile()) : 0;
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "the size of {0} is unknown ({1}); it is tailed from the start", spec.logFile(), e);
                start = 0;
            }
            this.tailer = new LogTailer(spec.logFile(), start, LogTailer.OUTPUT_LINE_LIMIT);
            this.events = spec.eventsFile() == null ? null : new LogTailer(spec.eventsFile(), 0, LogTailer.EVENT_LINE_LIMIT);
            this.metrics = new MetricCollector(spec.task(), spec.cwd());
            this.sdkEvents = sdkEvents();
            this.outputs = new OutputCollector(spec.workRoot(), spec.store());
        }

        /**
         * Samples the machine and the command's process group on a thread of its own (nvidia-smi can take a while),
         * handing the points to the watch loop. It starts after the command's first second.
         */
        private void startSampling(long processGroup) {
            if (sampler != null) {
                return;
            }
            SystemSampler system = SystemSampler.forThisMachine();
            long[] n = {0};
            sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "sortie-sample-" + spec.experimentId());
                t.setDaemon(true);
                return t;
            });
            sampler.scheduleAtFixedRate(() -> {
                Process cur = current;
                Map<String, Double> values = system.sample(cur == null ? processGroup : cur.pid());
                Instant now = Instant.now();
                long step = n[0]++;
                values.forEach((k, v) -> sampled.add(new MetricPoint(k, step, v, now)));
            }, 0, SYSTEM_SAMPLE.toMillis(), TimeUnit.MILLISECONDS);
        }

        int follow(Process p) throws IOException, InterruptedException {
            while (true) {
                boolean exited = p.waitFor(TAIL_SLEEP_MS, TimeUnit.MILLISECONDS);
                tailer.pump(this::bytes, this::line);
                if (events != null) {
                    events.pump(null, this::event);
                }
                noteFirstOverlong();
                long now = System.nanoTime();
                // Sampling starts once a command has run a second: a queue of short runs pays nothing for it.
                if (sampler == null && now - started >= SYSTEM_FIRST_SAMPLE.toNanos()) {
                    startSampling(p.pid());
                }
                for (MetricPoint s = sampled.poll(); s != null; s = sampled.poll()) {
                    pending.add(s);
                }
                if (now - lastFlush >= METRIC_FLUSH.toNanos()) {
                    flush();
                }
                if (now - lastFilePoll >= FILE_POLL.toNanos()) {
                    lastFilePoll = now;
                    pending.addAll(metrics.pollFiles());
                    flush();
                }
                if (now - lastCheckpoint >= spec.task().checkpointInterval().toNanos()) {
                    lastCheckpoint = now;
                    saveCheckpoints();
                }
                if (spec.task().timeout() != null && !stopRequested.get()
                        && now - started >= spec.task().timeout().toNanos()) {
                    timedOut = true;
                    appendToLog("[sortie] timeout of " + spec.task().timeout().toString().substring(2).toLowerCase(java.util.Locale.ROOT) + " reached: stopping");
                    stop(Duration.ofSeconds(10));
                }
                if (exited) {
                    return p.exitValue();
                }
            }
        }

        private void bytes(byte[] b, int offset, int length) {
            spec.listener().outputBytes(b, offset, length);
        }

        private boolean overlongNoted;

        /** Said once, when it happens; the totals are noted in the log at the end. */
        private void noteFirstOverlong() {
            if (!overlongNoted && (tailer.overlongLines() > 0 || (events != null && events.overlongLines() > 0))) {
                overlongNoted = true;
                LOG.log(System.Logger.Level.INFO, "{0}: a line longer than the limit ({1} bytes of output, {2} of an SDK event)"
                        + " is not parsed; its bytes stay in the log", spec.experimentId(), LogTailer.OUTPUT_LINE_LIMIT, LogTailer.EVENT_LINE_LIMIT);
            }
        }

        /** The lines that were too long to parse, said in the log once the command is over (no write amid its output). */
        private void noteOverlong() {
            if (tailer.overlongLines() > 0) {
                appendToLog("[sortie] " + tailer.overlongLines() + " output line(s) longer than " + LogTailer.OUTPUT_LINE_LIMIT / 1024
                        + " KiB were not read for metrics (the log above has every byte of them)");
            }
            if (events != null && events.overlongLines() > 0) {
                appendToLog("[sortie] skipped " + events.overlongLines() + " SDK event line(s) longer than "
                        + LogTailer.EVENT_LINE_LIMIT / (1024 * 1024) + " MiB in " + spec.eventsFile());
            }
        }

        private void line(String line) {
            List<MetricPoint> points = metrics.line(line, Instant.now());
            if (!points.isEmpty()) {
                pending.addAll(points);
                if (pending.size() >= FLUSH_POINTS) {
                    flush();
                }
            }
        }

        /** An SDK event: metrics join the output's; artifacts and checkpoints are saved at once (and again at the end if changed). */
        private void event(String line) {
            sdkEvents.line(line);
        }

        private final RunEventDispatch sdkEvents;

        /** Reads SDK events with the same collector as the output, so a metric from both is numbered once. */
        private RunEventDispatch sdkEvents() {
            return new RunEventDispatch(metrics, new RunEventDispatch.Handler() {
                @Override
                public void metrics(List<MetricPoint> points) {
                    pending.addAll(points);
                    if (pending.size() >= FLUSH_POINTS) {
                        flush();
                    }
                }

                @Override
                public void artifact(RunEvents.Artifact a) {
                    requested.add(a);
                    saveRequested(a);
                }

                @Override
                public void end(RunEvents.End end) {
                    if (!end.succeeded() && end.error() != null) {
                        sdkError = end.error();
                    }
                }
            });
        }

        private void saveRequested(RunEvents.Artifact a) {
            try {
                List<ArtifactRecord> saved = outputs.saveRequested(a.kind(), a.path(), spec.cwd());
                if (!saved.isEmpty()) {
                    spec.listener().saved(saved);
                }
            } catch (IOException ex) {
                appendToLog("[sortie] could not save " + a.path() + ": " + ex.getMessage());
            }
        }

        /** Why metrics could not be recorded last time (a full disk, say); null while they can. */
        private RuntimeException recordFailure;
        private long dropped;

        /**
         * Hands the pending metrics to the listener (the ledger). When that fails (a full disk), they are kept and
         * tried again later, and the run goes on: a failure to record is not the command's, and once space is
         * freed (by the command, or at the end) every point kept is recorded.
         */
        private void flush() {
            long now = System.nanoTime();
            if (pending.isEmpty() || (recordFailure != null && now - lastFlush < RECORD_RETRY.toNanos())) {
                if (recordFailure == null) {
                    lastFlush = now;
                }
                return;
            }
            lastFlush = now;
            try {
                spec.listener().metrics(List.copyOf(pending));
                pending.clear();
                if (recordFailure != null) {
                    recordFailure = null;
                    appendToLog("[sortie] metrics are recorded again");
                }
            } catch (RuntimeException e) {
                if (recordFailure == null) {
                    appendToLog("[sortie] could not record metrics (" + e.getMessage() + ")" + freeSpace()
                            + "; keeping them and trying again every " + RECORD_RETRY.toSeconds() + "s");
                }
                recordFailure = e;
                if (pending.size() > MAX_UNRECORDED) {
                    int over = pending.size() - MAX_UNRECORDED;
                    pending.subList(0, over).clear();
                    dropped += over;
                }
            }
        }

        /** The free space where the run's files are, for a message about a failed write. */
        private String freeSpace() {
            Path dir = spec.logFile().toAbsolutePath().getParent();
            try {
                long free = Files.getFileStore(dir).getUsableSpace();
                return "; " + dir + " has " + dev.sortie.core.config.Units.human(free) + " free";
            } catch (IOException | RuntimeException e) {
                return "";
            }
        }

        /** Metrics that could not be recorded by the end of the run, as an error; null when all were. */
        private MetricsNotRecordedException unrecorded() {
            if (recordFailure == null) {
                return null;
            }
            return new MetricsNotRecordedException(pending.size() + dropped + " metric point(s) could not be recorded: "
                    + recordFailure.getMessage() + freeSpace(), recordFailure);
        }

        private void saveCheckpoints() throws IOException {
            List<ArtifactRecord> saved = outputs.save(ArtifactKind.CHECKPOINT, paths.checkpoints());
            if (!saved.isEmpty()) {
                spec.listener().saved(saved);
            }
        }

        void finish() throws IOException {
            if (sampler != null) {
                sampler.shutdownNow();
            }
            for (MetricPoint s = sampled.poll(); s != null; s = sampled.poll()) {
                pending.add(s);
            }
            try {
                tailer.drain(this::bytes, this::line);
                if (events != null) {
                    events.drain(null, this::event);
                    events.close();
                    for (RunEvents.Artifact a : List.copyOf(requested)) {
                        saveRequested(a);
                    }
                }
                noteOverlong();
                pending.addAll(metrics.pollFiles());
                lastFlush = 0; // the last chance: no pause before it
                flush();
                saveCheckpoints();
                List<String> artifacts = new ArrayList<>(paths.artifacts());
                plots.record().stream().filter(p -> !artifacts.contains(p)).forEach(artifacts::add);
                List<ArtifactRecord> saved = outputs.save(ArtifactKind.ARTIFACT, artifacts);
                if (!saved.isEmpty()) {
                    spec.listener().saved(saved);
                }
                MetricsNotRecordedException lost = unrecorded();
                if (lost != null) {
                    throw lost;
                }
            } finally {
                // Sortie's notes written while saving reach people with the rest of the log.
                tailer.drain(this::bytes, null);
                logClosed = true;
                tailer.close();
            }
        }
    }
}
