package dev.sortie.core.engine;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.executor.CodeSource;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.params.ParamSubstitution;
import dev.sortie.core.params.Params;
import dev.sortie.core.store.CodeSnapshots;
import dev.sortie.core.util.Trace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The one code path that decides what happens to an experiment: create it, start an attempt, record how it
 * ended, find runs whose watcher died, stop, retry, remove. The CLI calls it in local mode; the server will
 * call the same methods. Mechanics (processes, hosts, files) belong to the executors.
 */
public final class ExperimentService {
    private static final System.Logger LOG = System.getLogger(ExperimentService.class.getName());
    /** The executor of a queued experiment that may run wherever the queue is drained. */
    public static final String ANY_EXECUTOR = ExperimentFactory.ANY_EXECUTOR;
    /** How the error of an attempt starts when its executor's host could not be reached and nothing started. */
    public static final String HOST_UNAVAILABLE = "not started, host unavailable: ";
    /**
     * The run's variable that says how many times the experiment was continued after its machine went away (spot
     * interruptions, lost instances): the run may read it, and a cloud executor launches on-demand past its limit.
     */
    public static final String RECOVERIES_ENV = dev.sortie.core.executor.Interruptions.RECOVERIES_ENV;

    private final ProjectPaths paths;
    private final Ledger ledger;
    private final Supplier<CodeSnapshots> snapshots;
    private final ExecutorRegistry executors;
    private final Clock clock;
    private final Map<String, TaskConfig> taskCache = new java.util.concurrent.ConcurrentHashMap<>();
    private final ExperimentFactory factory;
    /** What a server adds to each run's environment (SORTIE_API, the run's SORTIE_TOKEN); nothing by default. */
    private volatile RunEnvironment runEnvironment = exp -> Map.of();
    /** Runs whose host did not answer when this process last looked at them, by experiment id. */
    /** What the error of an experiment says once it has used its max_recoveries. */
    private static final String RECOVERIES_USED = "; not continued: max_recoveries ";
    /** Experiments whose machine went away that this process found ended (collected) while no sortie followed them. */
    private final Set<String> orphaned = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Map<String, DetachableExecutor.HostSilence> silent = new java.util.concurrent.ConcurrentHashMap<>();

    /** @param snapshots built on first use: git is only loaded by commands that need code */
    public ExperimentService(ProjectPaths paths, Ledger ledger, Supplier<CodeSnapshots> snapshots, ExecutorRegistry executors, Clock clock) {
        this.paths = paths;
        this.ledger = ledger;
        this.snapshots = memoize(snapshots);
        this.executors = executors;
        this.clock = clock;
        this.factory = new ExperimentFactory(paths, ledger, this.snapshots, executors, clock);
    }

    public Ledger ledger() {
        return ledger;
    }

    /** Variables added to the environment of each attempt this service launches, asked for once per launch. */
    public interface RunEnvironment {
        Map<String, String> of(Experiment exp);
    }

    /**
     * Where runs report home: {@code sortie server} gives each attempt it launches the server's URL and a token of
     * that run ({@code SORTIE_API}, {@code SORTIE_TOKEN}), for its agent and its command. Local mode sets none.
     */
    public void reportHome(RunEnvironment environment) {
        this.runEnvironment = java.util.Objects.requireNonNull(environment, "environment");
    }

    public ProjectPaths paths() {
        return paths;
    }

    public ExecutorRegistry executors() {
        return executors;
    }

    // ---------------------------------------------------------------- create

    /** Validates a run request, snapshots the code and records the experiment as running on behalf of this process. */
    public PreparedRun prepare(RunRequest request) throws IOException {
        return factory.prepareAll(List.of(request), false, watcherHandle()).get(0);
    }

    /**
     * Validates run requests (one per experiment; a grid is many), snapshots the code once for all of them, and
     * records them in one transaction: queued, or running on behalf of this process.
     */
    public List<PreparedRun> prepareAll(List<RunRequest> requests, boolean queued) throws IOException {
        return factory.prepareAll(requests, queued, watcherHandle());
    }

    /**
     * Queues experiments of a task given as the text of a sortie.yaml (the server's API) rather than read from the
     * project: validated as sortie.yaml is, recorded with the task, run in this project's code snapshot.
     */
    public List<PreparedRun> queueTask(String taskYaml, List<RunRequest> requests) throws IOException {
        return factory.prepareAll(requests, true, watcherHandle(), java.util.Objects.requireNonNull(taskYaml, "taskYaml"));
    }

    /**
     * Records a run started by hand (a script or a notebook using an SDK) as a running experiment: a code snapshot
     * of the workspace as it is, the given params, watched by the process in {@code handle}.
     */
    public Experiment openTracked(String id, String name, Params params, List<String> commandLine, RunLocator handle) throws IOException {
        return factory.openTracked(id, name, params, commandLine, handle);
    }

    /** Records a run reported by an SDK from another machine (see {@link ExperimentFactory#openReported}). */
    public Experiment openReported(String id, String name, String base, Params params, List<String> commandLine, String executor) {
        return factory.openReported(id, name, base, params, commandLine, executor);
    }

    /** A fresh experiment id. */
    public static String newExperimentId() {
        return ExperimentFactory.newId();
    }

    /** Makes a finished experiment run again here and now: same code, params and task; resumed from its checkpoints if it was cut short. */
    public PreparedRun prepareRetry(String ref) {
        reconcile();
        Experiment next = again(find(ref), ExperimentStatus.RUNNING, watcherHandle());
        return prepared(next);
    }

    /** Puts a finished experiment back at the end of the queue, to run again like {@link #prepareRetry}. */
    public Experiment requeue(String ref) {
        reconcile();
        return again(find(ref), ExperimentStatus.QUEUED, null);
    }

    /**
     * Queues a copy of an experiment with some params changed, on {@code executor} (null: the same), as a new
     * experiment (the web run: clone, edit params, pick an executor). It runs the source's code and task; params
     * only replace existing ones (a key the source does not have is refused) and stay data, substituted into the
     * command as the source's were. {@code name} null: {@code <task name>-<n>}.
     */
    public Experiment queueCopy(String ref, String name, List<dev.sortie.core.params.ParamOverride> overrides, String executor) {
        Experiment src = find(ref);
        TaskSource source = TaskSource.fromJson(src.task());
        if (source.tracked()) {
            throw new ConfigException("experiment '" + src.name() + "' was started by hand and tracked; Sortie cannot run it again");
        }
        Params params;
        try {
            params = dev.sortie.core.params.ParamOverride.apply(src.params(), overrides);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        String where = executor == null ? src.executor() : executor;
        if (!where.equals(ANY_EXECUTOR)) {
            executors.spec(where);
        }
        if (name != null) {
            ExperimentNames.check(name);
            if (ledger.nameExists(name)) {
                throw new ConfigException("an experiment named '" + name + "' already exists; pick another name");
            }
        }
        String id = newExperimentId();
        String base = resolveTask(src.task()).name();
        // the copy runs the source's snapshot, whose params file (if the task reads one) holds the source's values
        TaskSource copied = params.equals(src.params()) ? source.asQueued() : source.asQueued().withParamsEdited();
        Experiment copy = new Experiment(id, name != null ? name : base + "-" + id, ExperimentStatus.QUEUED, where, src.command(), params,
                src.code(), copied.toJson(), clock.instant(), null, null, null, null, 1, null);
        return ledger.insertAllNaming(List.of(copy), name != null ? Map.of() : Map.of(id, base)).get(0);
    }

    /**
     * The next attempt of a finished experiment. One that was cut short (interrupted, stopped) keeps its metrics
     * and checkpoints and resumes from them; one that failed or succeeded starts clean.
     */
    private Experiment again(Experiment exp, ExperimentStatus to, RunLocator handle) {
        if (!exp.status().isTerminal()) {
            throw new ConfigException("experiment '" + exp.name() + "' is " + exp.status().label() + "; only finished experiments can be retried");
        }
        boolean cutShort = exp.status() == ExperimentStatus.INTERRUPTED || exp.status() == ExperimentStatus.STOPPED;
        Experiment next = exp.nextAttempt(to);
        if (to == ExperimentStatus.RUNNING) {
            next = next.started(clock.instant(), handle);
        } else {
            next = next.withTask(TaskSource.fromJson(exp.task()).asQueued().toJson());
        }
        if (!ledger.update(next, exp.status())) {
            throw new ConfigException("experiment '" + exp.name() + "' changed while preparing the retry; try again");
        }
        if (!cutShort) {
            ledger.clearMetrics(exp.id());
            ledger.deleteArtifacts(exp.id(), ArtifactKind.CHECKPOINT);
        }
        return next;
    }

    /** The run of an experiment claimed from the queue or retried: its recorded task, resumed when it kept checkpoints. */
    public PreparedRun prepared(Experiment exp) {
        TaskConfig task = resolveTask(exp.task()).withParams(exp.params());
        List<ArtifactRecord> checkpoints = exp.attempt() > 1
                ? ledger.artifacts(exp.id()).stream().filter(a -> a.kind() == ArtifactKind.CHECKPOINT).toList()
                : List.of();
        return new PreparedRun(exp, task, checkpoints);
    }

    /**
     * The task of a recorded experiment. A grid of hundreds of experiments shares one task text, so the parse and
     * validation of sortie.yaml is done once per distinct text, not once per experiment.
     */
    private TaskConfig resolveTask(String taskJson) {
        TaskConfig cached = taskCache.get(taskJson);
        if (cached == null) {
            cached = TaskSource.fromJson(taskJson).resolveRecorded(paths.projectDir());
            if (taskCache.size() > 64) {
                taskCache.clear();
            }
            taskCache.put(taskJson, cached);
        }
        return cached;
    }

    /** Ends a tracked run as its SDK (or the disappearance of its process) says. */
    public Experiment finishTracked(Experiment exp, ExperimentStatus status, String error) {
        return finish(exp, status, null, error);
    }

    /** The handle a queue worker (this process) puts on the experiments it claims. */
    public RunLocator workerHandle() {
        return watcherHandle();
    }

    // ---------------------------------------------------------------- run

    /** Runs one attempt of a prepared experiment in the foreground and records how it ended. */
    public Experiment runAttempt(PreparedRun run, RunListener console, AttemptControl control) throws IOException, InterruptedException {
        Experiment exp = run.experiment();
        TaskConfig task = run.task();
        Executor executor = executors.get(exp.executor());
        Map<String, byte[]> files = new LinkedHashMap<>();
        String paramsFile = paramsFileFor(task);
        if (task.paramsFile() == null) {
            files.put(ExperimentFactory.projectRelative(task, paramsFile), ExperimentFactory.yaml(exp.params()));
        } else if (TaskSource.fromJson(exp.task()).paramsEdited()) {
            String file = ExperimentFactory.projectRelative(task, task.paramsFile());
            files.put(file, editedParamsFile(exp, file));
        }
        if ("local".equals(executor.type())) {
            DvcCacheLink.of(paths.projectDir()).ifPresent(dvc -> files.put(DvcCacheLink.LOCAL_CONFIG, dvc.localConfig()));
        }
        List<ArtifactRecord> restore = run.checkpoints();
        String stage = TaskSource.fromJson(exp.task()).stage();
        LedgerListener recorder = new LedgerListener(ledger, exp, console, clock);
        RunOutcome outcome;
        Trace.mark("launch " + exp.name());
        LaunchRequest request = new LaunchRequest(exp, task, codeSource(exp), files, argv(exp), environment(exp, task, paramsFile, run.resumed()),
                paths.logFile(exp.id(), exp.attempt()), paths.runDir(exp.id()), restore, recorder);
        try {
            if (stage != null && !"local".equals(executor.type())) {
                // a stage on a host: its data reaches the host through the project's DVC cache there, which the
                // executor fills from what the snapshot's DVC files name; a dvc.lock or .dvc file that DVC could not
                // read fails the run here, as a launch failure naming the file and line.
                StageRun.checkInputs(paths.projectDir(), stage);
            }
            control.launching(Thread.currentThread());
            Execution execution = executor.launch(request);
            // A stop that came while launching interrupted this thread to cut a wait short; the run started
            // anyway, so the stop now goes to it (attach) and the flag must not break the wait for its end.
            Thread.interrupted();
            Trace.mark("launched " + exp.name());
            control.attach(execution);
            outcome = execution.await();
            execution.infrastructureFailure().ifPresent(control::launchFailed); // the machine's failure, not the experiment's
            Trace.mark("ended " + exp.name());
        } catch (dev.sortie.core.executor.HostUnavailableException e) {
            // Nothing started anywhere: a queued experiment goes back to the queue as it was (see afterInterruption);
            // one run in the foreground could not be started, which is a failure (exit 3), not an interruption.
            if (TaskSource.fromJson(exp.task()).queued()) {
                outcome = new RunOutcome(ExperimentStatus.INTERRUPTED, null, HOST_UNAVAILABLE + e.getMessage());
            } else {
                control.launchFailed(e);
                outcome = new RunOutcome(ExperimentStatus.FAILED, null, HOST_UNAVAILABLE + e.getMessage());
            }
        } catch (java.io.InterruptedIOException e) {
            Thread.interrupted(); // a stop or a shutdown gave up on the launch (a wait for a slot); clear it
            outcome = control.stopped() && !control.interrupted()
                    ? new RunOutcome(ExperimentStatus.STOPPED, null, "stopped before it started")
                    : new RunOutcome(ExperimentStatus.INTERRUPTED, null, "not started: sortie was stopped while launching");
        } catch (IOException | RuntimeException e) {
            // Whatever keeps the executor from starting the run, the experiment ends failed with the reason,
            // rather than staying "running" until a reconcile notices.
            control.launchFailed(e);
            outcome = new RunOutcome(ExperimentStatus.FAILED, null, "could not start: " + e.getMessage());
        }
        if (outcome.status() == ExperimentStatus.RUNNING) {
            // Detached: the run goes on where it runs, recorded as running; any later sortie collects it.
            control.markRecorded();
            return ledger.find(exp.id()).orElse(exp);
        }
        ExperimentStatus status = control.interrupted() ? ExperimentStatus.INTERRUPTED : outcome.status();
        String error = control.interrupted() ? "sortie was terminated while the run was going" : outcome.error();
        refuseIfLedgerGone(exp, status, outcome, control);
        if (status == ExperimentStatus.STOPPED || status == ExperimentStatus.INTERRUPTED) {
            // A stop asked for while the host could not be reached (by another sortie) is the user's stop, as when a
            // later sortie collects the end (recordDetachedEnd): a host lost meanwhile must not re-queue the run.
            Optional<Experiment> current = ledger.find(exp.id()).filter(e -> e.attempt() == exp.attempt());
            if (current.isPresent() && PendingStop.of(current.get()).isPresent()) {
                status = ExperimentStatus.STOPPED;
                error = PendingStop.endError(error);
            }
        }
        Experiment finished;
        try {
            finished = finish(recorder.current(), status, outcome.exitCode(), error);
        } catch (RuntimeException e) {
            if (dev.sortie.core.util.LocalDisk.isFull(e)) {
                leaveDiskFullMark(exp);
            }
            throw e;
        }
        Trace.mark("recorded " + exp.name());
        control.markRecorded();
        return finished;
    }

    /**
     * Where a sortie that could not record a run's end for a full disk says so: an empty file (it takes no data block,
     * so it can be made on a full disk), for the salvage that later finds the run without its watcher.
     */
    private Path diskFullMark(Experiment exp) {
        return paths.runDir(exp.id()).resolve("ended-disk-full-" + exp.attempt());
    }

    private void leaveDiskFullMark(Experiment exp) {
        try {
            Files.createFile(diskFullMark(exp));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the disk-full mark of {0} was not left: {1}", exp.id(), e);
        }
    }

    /**
     * The run is over but the ledger it started in is no longer at its path (its folder was removed while it ran):
     * recording the result would write it into a deleted file, silently. Says so instead, with what is left of
     * the run, as an infrastructure failure; nothing is made again for it.
     */
    private void refuseIfLedgerGone(Experiment exp, ExperimentStatus status, RunOutcome outcome, AttemptControl control) {
        Optional<String> gone = ledger.detachedFromItsPath();
        if (gone.isEmpty()) {
            return;
        }
        Path log = paths.logFile(exp.id(), exp.attempt());
        String result = status.label() + (outcome.exitCode() == null ? "" : ", exit code " + outcome.exitCode());
        String left = Files.exists(log) ? "its log is still at " + log
                : "its log and outputs were removed with that folder (" + paths.runDir(exp.id()) + ")";
        control.markRecorded(); // nothing more will be: a shutdown waiting for it must not wait
        throw new dev.sortie.core.ledger.LedgerException("the result of experiment " + exp.name() + " (" + exp.id() + ": " + result
                + ") could not be recorded: " + gone.get() + " (was the .sortie folder removed during the run?); "
                + left + ". Nothing was recorded for it", null);
    }

    /** Records the end of an attempt unless someone else (a stop) decided it first, in which case only the exit code is added. */
    private Experiment finish(Experiment known, ExperimentStatus status, Integer exitCode, String error) {
        // The common case in one statement: nobody else touched the experiment while it ran.
        Experiment direct = known.ended(status, clock.instant(), exitCode, error);
        if (known.status() == ExperimentStatus.RUNNING && ledger.update(direct, ExperimentStatus.RUNNING)) {
            return direct;
        }
        String id = known.id();
        for (int i = 0; i < 5; i++) {
            Experiment current = ledger.find(id).orElseThrow(() -> new NotFoundException("experiment " + id + " was removed while it ran"));
            if (current.status() == ExperimentStatus.RUNNING) {
                Experiment ended = current.ended(status, clock.instant(), exitCode, error);
                if (ledger.update(ended, ExperimentStatus.RUNNING)) {
                    return ended;
                }
            } else {
                Experiment kept = current.ended(current.status(), current.endedAt() == null ? clock.instant() : current.endedAt(),
                        exitCode, current.error());
                if (ledger.update(kept, current.status())) {
                    return kept;
                }
            }
        }
        return ledger.find(id).orElseThrow();
    }

    private List<String> argv(Experiment exp) {
        CommandSpec c = exp.command();
        if (c.isShell()) {
            Optional<List<String>> direct = dev.sortie.core.params.SimpleCommandLine.argv(c.shell(), exp.params());
            return direct.orElseGet(() -> List.of("sh", "-c", ParamSubstitution.shell(c.shell(), exp.params())));
        }
        return ParamSubstitution.argv(c.argv(), exp.params());
    }

    private Map<String, String> environment(Experiment exp, TaskConfig task, String paramsFile, boolean resumed) {
        Map<String, String> env = new LinkedHashMap<>(task.env());
        env.putAll(ParamSubstitution.environment(exp.params()));
        env.put("SORTIE_EXPERIMENT_ID", exp.id());
        env.put("SORTIE_EXPERIMENT_NAME", exp.name());
        env.put("SORTIE_ATTEMPT", Integer.toString(exp.attempt()));
        env.put("SORTIE_RESUMED", resumed ? "1" : "0");
        env.put(RECOVERIES_ENV, Integer.toString(recoveries(exp)));
        env.put("SORTIE_PARAMS_FILE", paramsFile);
        env.put("SORTIE_PROJECT_DIR", paths.projectDir().toString());
        env.putAll(runEnvironment.of(exp));
        // Python block-buffers stdout into a file; unbuffered, its lines stream live and survive a kill.
        if (!task.env().containsKey("PYTHONUNBUFFERED")) {
            env.put("PYTHONUNBUFFERED", "1");
        }
        return env;
    }

    /** The params file a run reads, relative to its workdir: the task's own, else params.yaml unless the project has an unrelated file of that name. */
    /**
     * The params file of a copy with edited params ({@link TaskSource#paramsEdited}): its snapshot's file with the
     * copy's values put in (comments, order and untouched spellings kept, as a new run's snapshot gets it), or the
     * copy's params written anew where the snapshot has no such file or it cannot be edited exactly.
     */
    private byte[] editedParamsFile(Experiment exp, String file) throws IOException {
        if (exp.code() != null && exp.code().snapshotCommit() != null) {
            CodeSnapshots snaps = snapshots.get();
            for (dev.sortie.core.executor.CodeFile f : snaps.files(exp.code().snapshotCommit())) {
                if (f.path().equals(file) && f.kind() != dev.sortie.core.executor.CodeFile.Kind.SYMLINK) {
                    String text;
                    try (java.io.InputStream in = snaps.openBlob(f.blobId())) {
                        text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    }
                    return ExperimentFactory.paramsFileWith(text, exp.params());
                }
            }
        }
        return ExperimentFactory.yaml(exp.params());
    }

    private String paramsFileFor(TaskConfig task) {
        if (task.paramsFile() != null) {
            return task.paramsFile();
        }
        Path candidate = paths.projectDir().resolve(task.workdir()).resolve(TaskConfigLoader.DEFAULT_PARAMS_FILE);
        return Files.exists(candidate) ? ".sortie/params.yaml" : TaskConfigLoader.DEFAULT_PARAMS_FILE;
    }

    private CodeSource codeSource(Experiment exp) {
        String commit = exp.code() == null ? null : exp.code().snapshotCommit();
        CodeSnapshots snaps = snapshots.get();
        return new CodeSource() {
            @Override
            public String commit() {
                return commit;
            }

            @Override
            public void materialize(Path target) throws IOException {
                if (commit == null) {
                    throw new IOException("experiment " + exp.name() + " has no code snapshot");
                }
                snaps.materialize(commit, target);
            }

            @Override
            public List<dev.sortie.core.executor.CodeFile> files() throws IOException {
                if (commit == null) {
                    throw new IOException("experiment " + exp.name() + " has no code snapshot");
                }
                return snaps.files(commit);
            }

            @Override
            public java.io.InputStream open(String blobId) throws IOException {
                return snaps.openBlob(blobId);
            }

            @Override
            public dev.sortie.core.executor.GitCommitObjects gitCommit() throws IOException {
                return commit == null ? null : snaps.gitCommit(commit);
            }
        };
    }

    // ---------------------------------------------------------------- watch, stop, remove

    /**
     * Finds experiments recorded as running whose watcher is gone (a killed {@code sortie run}), marks them
     * interrupted and salvages what they left: log metrics, checkpoints, artifacts. Only the process whose
     * compare-and-set wins salvages, so concurrent callers never double up. Returns the experiments it changed.
     */
    public List<Experiment> reconcile() {
        List<Experiment> changed = new ArrayList<>();
        if (ledger.readOnly()) {
            return changed; // nothing can be recorded: the ledger is shown as it is
        }
        for (Experiment exp : ledger.listByStatus(List.of(ExperimentStatus.RUNNING))) {
            if (!executors.has(exp.executor())) {
                continue;
            }
            Executor executor;
            Executor.Liveness liveness;
            try {
                executor = executors.get(exp.executor());
                if (executor instanceof DetachableExecutor detachable) {
                    Experiment ended = collect(detachable, exp);
                    if (ended != null) {
                        changed.add(ended);
                    }
                    continue;
                }
                liveness = exp.handle() != null && exp.handle().launcher()
                        ? Launchers.liveness(exp.handle())
                        : executor.probe(exp.handle());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> "cannot tell whether " + exp.id() + " on " + exp.executor() + " still runs; left as it is", e);
                continue; // an executor that cannot tell (or whose config broke) leaves its runs as they are
            }
            if (liveness != Executor.Liveness.GONE) {
                continue;
            }
            if (TaskSource.fromJson(exp.task()).tracked()) {
                // Sortie does not own a tracked run's process: mark it and leave the process alone. What the
                // watcher had read is in the ledger; lines after its death stay in the events file.
                Experiment lost = exp.ended(ExperimentStatus.INTERRUPTED, clock.instant(), null, "the watcher of this tracked run stopped");
                if (ledger.update(lost, ExperimentStatus.RUNNING)) {
                    changed.add(lost);
                }
                continue;
            }
            String why = Files.exists(diskFullMark(exp))
                    ? "the disk of " + paths.stateDir() + " was full when the run ended, so sortie could not record its end (its log"
                        + " stops where the disk filled; now " + dev.sortie.core.util.LocalDisk.free(paths.stateDir()) + ")"
                    : "the process watching it stopped (killed or crashed)";
            Experiment interrupted = exp.ended(ExperimentStatus.INTERRUPTED, clock.instant(), null,
                    why + "; 'sortie retry " + exp.name() + "' resumes it");
            if (!ledger.update(interrupted, ExperimentStatus.RUNNING)) {
                continue;
            }
            try {
                TaskConfig task = TaskSource.fromJson(exp.task()).resolveRecorded(paths.projectDir()).withParams(exp.params());
                executor.salvage(exp, new SalvageRequest(task, paths.logFile(exp.id(), exp.attempt()), paths.runDir(exp.id()),
                        new LedgerListener(ledger, exp, RunListener.NONE, clock)));
            } catch (IOException | RuntimeException e) {
                Experiment noted = interrupted.ended(ExperimentStatus.INTERRUPTED, interrupted.endedAt(), null,
                        interrupted.error() + "; salvage failed: " + e.getMessage());
                if (ledger.update(noted, ExperimentStatus.INTERRUPTED)) {
                    interrupted = noted;
                }
            }
            interrupted = afterInterruption(interrupted);
            changed.add(interrupted);
        }
        return changed;
    }

    /**
     * Brings a detached run's records up to date (its metrics, log, outputs) and, when it has ended, records how;
     * returns the experiment if it ended, null if it goes on (or another process collects it, or its host does not
     * answer yet).
     */
    private Experiment collect(DetachableExecutor executor, Experiment exp) {
        if (launcherAlive(exp)) {
            return null;
        }
        exp = deliverPendingStop(executor, exp);
        DetachableExecutor.Collection c;
        try {
            c = executor.catchUp(exp, salvageRequest(exp, RunListener.NONE));
        } catch (IOException | RuntimeException e) {
            Experiment stale = exp;
            LOG.log(System.Logger.Level.DEBUG, () -> "could not catch up with " + stale.id() + " on " + stale.executor() + " now; tried again later", e);
            return null;
        }
        if (c.state() == DetachableExecutor.Collection.State.UNREACHABLE && c.silence() != null) {
            silent.put(exp.id(), c.silence());
        } else if (c.state() != DetachableExecutor.Collection.State.BUSY) {
            silent.remove(exp.id());
        }
        if (c.state() != DetachableExecutor.Collection.State.ENDED) {
            return null;
        }
        return recordOrphanEnd(exp, c.outcome());
    }

    /**
     * Delivers a stop that could not reach the run's host when it was asked for (see {@link PendingStop}), if the
     * host answers now; returns the experiment as recorded after. A host still down leaves the stop pending, and the
     * collection that follows applies {@code lost_after} as for any run.
     */
    private Experiment deliverPendingStop(DetachableExecutor executor, Experiment exp) {
        Optional<PendingStop> pending = PendingStop.of(exp);
        if (pending.isEmpty() || pending.get().delivered()) {
            return exp;
        }
        try {
            executor.stop(exp, pending.get().grace());
        } catch (dev.sortie.core.executor.HostUnavailableException e) {
            return exp;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "delivering the pending stop of {0} failed: {1}", exp.name(), e.getMessage());
            return exp;
        }
        Experiment delivered = exp.ended(ExperimentStatus.RUNNING, null, null, pending.get().deliveredNote());
        return ledger.update(delivered, ExperimentStatus.RUNNING) ? delivered : ledger.find(exp.id()).orElse(exp);
    }

    /** The host of a running experiment that did not answer when this process last looked at the run, if so. */
    public Optional<DetachableExecutor.HostSilence> silence(String experimentId) {
        return Optional.ofNullable(silent.get(experimentId));
    }

    /** The hosts that did not answer when this process last looked at their runs, one each (the longest silence). */
    public List<DetachableExecutor.HostSilence> silentHosts() {
        Map<String, DetachableExecutor.HostSilence> byHost = new java.util.TreeMap<>();
        for (DetachableExecutor.HostSilence s : silent.values()) {
            byHost.merge(s.host(), s, (a, b) -> a.since() == null || (b.since() != null && b.since().isBefore(a.since())) ? b : a);
        }
        return List.copyOf(byHost.values());
    }

    /**
     * Whether the sortie process that claimed or started an attempt is still launching it (syncing code, waiting
     * for a slot): until its run is on a host the record carries that process's handle with no command pid.
     */
    private static boolean launcherAlive(Experiment exp) {
        RunLocator h = exp.handle();
        return h != null && h.launcher() && Launchers.liveness(h) == Executor.Liveness.ALIVE;
    }

    /** Records the end of a detached attempt, and applies the retry policy if it was cut short by its host. */
    private Experiment recordDetachedEnd(Experiment exp, RunOutcome outcome) {
        // as recorded now: the collection may have put the host's handle on it since
        Experiment current = ledger.find(exp.id()).filter(e -> e.attempt() == exp.attempt()).orElse(exp);
        if (PendingStop.of(current).isPresent() && (outcome.status() == ExperimentStatus.STOPPED || outcome.status() == ExperimentStatus.INTERRUPTED)) {
            // The user asked for a stop while the host was away: an end the stop caused, or a host lost meanwhile,
            // is the user's stop (and not re-queued); a run that had ended by itself keeps its own end.
            return finish(current, ExperimentStatus.STOPPED, outcome.exitCode(), PendingStop.endError(outcome.error()));
        }
        Experiment ended = finish(current, outcome.status(), outcome.exitCode(), outcome.error());
        if (ended.status() == ExperimentStatus.INTERRUPTED && ended.attempt() == exp.attempt()) {
            ended = afterInterruption(ended);
        }
        return ended;
    }

    /** As {@link #recordDetachedEnd}, for a run no sortie follows: a machine gone under it is this process's to recover. */
    private Experiment recordOrphanEnd(Experiment exp, RunOutcome outcome) {
        Experiment ended = recordDetachedEnd(exp, outcome);
        if (ended.status() == ExperimentStatus.INTERRUPTED && (dev.sortie.core.executor.Interruptions.machineGone(ended.error())
                || (!ended.commandStarted() && ended.attempt() > 1))) {
            orphaned.add(ended.id()); // a recovery whose launch was cut short is one too (see claimRelaunch)
        }
        return ended;
    }

    private SalvageRequest salvageRequest(Experiment exp, RunListener next) {
        TaskConfig task = resolveTask(exp.task()).withParams(exp.params());
        return new SalvageRequest(task, paths.logFile(exp.id(), exp.attempt()), paths.runDir(exp.id()),
                new LedgerListener(ledger, exp, next, clock));
    }

    /**
     * Follows a detached run until it ends, collecting as it goes, and records its end: how {@code sortie logs -f}
     * re-attaches. Empty if the experiment is not a detached run or another process already follows it (its
     * log file grows as that one collects).
     */
    public Optional<Experiment> follow(Experiment exp, RunListener console, AttemptControl control) throws IOException, InterruptedException {
        return follow(exp, console, control, false);
    }

    /**
     * As {@link #follow}, for a worker that adopts a run nobody follows (a queue worker, the server): when its
     * machine goes away, no sortie of its own is there to continue it, so its recovery is this process's to launch at
     * once (see {@link #claimOrphanedRecoveries()}) rather than after {@link #ORPHANED_AFTER}.
     */
    public Optional<Experiment> adopt(Experiment exp, RunListener console, AttemptControl control) throws IOException, InterruptedException {
        return follow(exp, console, control, true);
    }

    private Optional<Experiment> follow(Experiment exp, RunListener console, AttemptControl control, boolean adopted)
            throws IOException, InterruptedException {
        if (exp.status() != ExperimentStatus.RUNNING || !executors.has(exp.executor())
                || !(executors.get(exp.executor()) instanceof DetachableExecutor detachable) || launcherAlive(exp)) {
            return Optional.empty();
        }
        exp = deliverPendingStop(detachable, exp);
        Optional<dev.sortie.core.executor.DetachedExecution> attached = detachable.attach(exp, salvageRequest(exp, console));
        if (attached.isEmpty()) {
            return Optional.empty();
        }
        control.attach(attached.get());
        RunOutcome outcome = attached.get().await();
        control.markRecorded();
        if (outcome.status() == ExperimentStatus.RUNNING) {
            return Optional.of(ledger.find(exp.id()).orElse(exp));
        }
        return Optional.of(adopted ? recordOrphanEnd(exp, outcome) : recordDetachedEnd(exp, outcome));
    }

    /**
     * Brings one experiment's record up to date: a detached run's progress is collected, a local run whose watcher
     * died is found (as {@link #reconcile()} does). Returns the experiment as recorded now.
     */
    public Experiment refresh(Experiment exp) {
        if (exp.status() == ExperimentStatus.RUNNING && isDetachable(exp)) {
            Experiment ended = collect((DetachableExecutor) executors.get(exp.executor()), exp);
            return ended != null ? ended : find(exp.id());
        }
        reconcile();
        return find(exp.id());
    }

    /** Whether an experiment runs on an executor whose runs outlive this process. */
    public boolean isDetachable(Experiment exp) {
        return executors.has(exp.executor()) && executors.get(exp.executor()) instanceof DetachableExecutor;
    }

    /**
     * The retry policy. An interruption (the watcher, the worker or the host died) is not the experiment's fault,
     * so a queued experiment goes back to the queue, to resume from its checkpoints, until it has used its
     * {@code retries}; a foreground run is left interrupted for its user to retry.
     */
    public Experiment afterInterruption(Experiment interrupted) {
        TaskSource source = TaskSource.fromJson(interrupted.task());
        if (!source.queued()) {
            return interrupted;
        }
        int retries;
        try {
            retries = source.resolveRecorded(paths.projectDir()).retries();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the task of {0} no longer resolves ({1}); it gets the default retries", interrupted.id(), e);
            retries = TaskConfig.DEFAULT_RETRIES;
        }
        if (!interrupted.commandStarted()) {
            // Claimed but never started (it waited for a slot): it did not use an attempt.
            Experiment back = interrupted.unclaimed();
            return ledger.update(back, ExperimentStatus.INTERRUPTED) ? back : interrupted;
        }
        if (recoverable(interrupted)) {
            // the machine went away under it (a spot interruption, a lost instance): max_recoveries, not retries, applies
            int max = maxRecoveries(interrupted);
            if (interrupted.attempt() > max) {
                return noteRecoveriesUsed(interrupted, max);
            }
        } else if (interrupted.attempt() > retries) {
            return interrupted;
        }
        Experiment again = interrupted.nextAttempt(ExperimentStatus.QUEUED);
        return ledger.update(again, ExperimentStatus.INTERRUPTED) ? again : interrupted;
    }

    /**
     * Whether an attempt ended because its machine went away (a spot interruption notice, an instance lost) on an
     * executor that replaces machines: then its experiment is continued on a replacement, from its last checkpoint.
     */
    public boolean recoverable(Experiment ended) {
        return ended.status() == ExperimentStatus.INTERRUPTED && dev.sortie.core.executor.Interruptions.machineGone(ended.error())
                && recoverableExecutor(ended);
    }

    /** Whether the experiment's executor replaces the machines its runs lose. */
    private boolean recoverableExecutor(Experiment ended) {
        if (!executors.has(ended.executor())) {
            return false;
        }
        try {
            return executors.get(ended.executor()).replacesLostHosts();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "executor {0} of {1} cannot be loaded ({2}); its run is not recovered", ended.executor(), ended.id(), e);
            return false;
        }
    }

    private int maxRecoveries(Experiment exp) {
        try {
            return resolveTask(exp.task()).maxRecoveries();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the task of {0} no longer resolves ({1}); it gets the default max_recoveries", exp.id(), e);
            return TaskConfig.DEFAULT_MAX_RECOVERIES;
        }
    }

    /** The attempt's error, with the note that no recovery is left; recorded. */
    private Experiment noteRecoveriesUsed(Experiment interrupted, int max) {
        Experiment noted = interrupted.ended(ExperimentStatus.INTERRUPTED, interrupted.endedAt(), interrupted.exitCode(),
                interrupted.error() + RECOVERIES_USED + "(" + max + ") used ('sortie retry " + interrupted.name()
                        + "' resumes it from its last checkpoint)");
        return ledger.update(noted, ExperimentStatus.INTERRUPTED) ? noted : interrupted;
    }

    /**
     * The next attempt of a foreground run whose machine went away ({@link #recoverable}), recorded as running on
     * behalf of this process and resumed from the checkpoints the ended attempts left; empty when it is not
     * recoverable, was queued (the queue's retry policy continues those, see {@link #afterInterruption}) or has used
     * its {@code max_recoveries} (then said in its error).
     */
    public Optional<PreparedRun> recover(Experiment ended) {
        if (!recoverable(ended) || TaskSource.fromJson(ended.task()).queued()) {
            return Optional.empty();
        }
        int max = maxRecoveries(ended);
        if (ended.attempt() > max) {
            noteRecoveriesUsed(ended, max);
            return Optional.empty();
        }
        Experiment next = ended.nextAttempt(ExperimentStatus.RUNNING).started(clock.instant(), watcherHandle());
        if (!ledger.update(next, ExperimentStatus.INTERRUPTED)) {
            return Optional.empty(); // someone else (a retry, a removal) decided first
        }
        return Optional.of(prepared(next));
    }

    /**
     * How long after an attempt's end was recorded a run nobody recovered counts as orphaned: a sortie that follows its
     * run recovers it within moments of recording the end (one ledger read and one write), far less than this.
     */
    static final Duration ORPHANED_AFTER = Duration.ofSeconds(15);

    /** A foreground run whose machine went away while no sortie followed it, claimed for its next attempt. */
    public record OrphanedRecovery(PreparedRun next, Experiment ended, long lastStep) {
    }

    /**
     * Claims the recoveries no sortie is doing: foreground runs (not queued: the queue requeues those) whose machine
     * went away while no sortie followed them (a {@code --detach}ed run, a sortie killed between the notice and the
     * replacement), and recoveries whose launch was cut short before the replacement's command started (a sortie
     * killed while provisioning it: that attempt is tried again, it used no recovery). Each claim is a
     * compare-and-set on the experiment's row, so of two sorties doing this at once only one gets it: never two
     * replacements for one lost instance. The caller launches each (detached).
     */
    public List<OrphanedRecovery> claimOrphanedRecoveries() {
        List<OrphanedRecovery> out = new ArrayList<>();
        if (ledger.readOnly()) {
            return out;
        }
        Instant settled = clock.instant().minus(ORPHANED_AFTER);
        for (Experiment e : ledger.listByStatus(List.of(ExperimentStatus.INTERRUPTED))) {
            boolean gone = dev.sortie.core.executor.Interruptions.machineGone(e.error());
            if ((!gone && e.commandStarted()) || (e.error() != null && e.error().contains(RECOVERIES_USED))
                    || TaskSource.fromJson(e.task()).queued() || !executors.has(e.executor())) {
                continue;
            }
            boolean collectedHere = orphaned.remove(e.id());
            if (!collectedHere && (e.endedAt() == null || e.endedAt().isAfter(settled))) {
                continue; // its follower may be recovering it this moment
            }
            try {
                Optional<OrphanedRecovery> claimed = gone ? claimNext(e) : claimRelaunch(e);
                claimed.ifPresent(out::add);
            } catch (RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "the recovery of {0} could not be claimed: {1}", e.name(), ex.toString());
            }
        }
        return out;
    }

    private Optional<OrphanedRecovery> claimNext(Experiment ended) {
        if (!recoverable(ended)) {
            return Optional.empty(); // a fixed host lost, say: nothing replaces it
        }
        long step = lastStep(ended.id());
        return recover(ended).map(next -> new OrphanedRecovery(next, ended, step));
    }

    /** The same attempt again when it was a recovery (the attempt before it lost its machine) whose command never started. */
    private Optional<OrphanedRecovery> claimRelaunch(Experiment cut) {
        if (cut.attempt() <= 1 || !recoverableExecutor(cut)) {
            return Optional.empty();
        }
        Optional<AttemptRecord> before = ledger.attempts(cut.id()).stream().filter(a -> a.attempt() == cut.attempt() - 1).findFirst();
        if (before.isEmpty() || before.get().status() != ExperimentStatus.INTERRUPTED
                || !dev.sortie.core.executor.Interruptions.machineGone(before.get().error())) {
            return Optional.empty();
        }
        Experiment again = cut.unclaimed().started(clock.instant(), watcherHandle());
        if (!ledger.update(again, ExperimentStatus.INTERRUPTED)) {
            return Optional.empty();
        }
        Experiment ended = new Experiment(cut.id(), cut.name(), ExperimentStatus.INTERRUPTED, cut.executor(), cut.command(), cut.params(),
                cut.code(), cut.task(), cut.createdAt(), before.get().startedAt(), before.get().endedAt(), before.get().exitCode(),
                before.get().error(), before.get().attempt(), null);
        return Optional.of(new OrphanedRecovery(prepared(again), ended, lastStep(cut.id())));
    }

    /**
     * Takes over the launch of an attempt another sortie process of this machine claimed ({@link
     * #claimOrphanedRecoveries}) and hands to this one, so that one need not wait for the replacement (a {@code sortie
     * status}): the attempt's launcher becomes this process. Empty unless the attempt is still running, launched by
     * process {@code fromPid} (nobody else took it, its command not started).
     */
    public Optional<PreparedRun> takeOverLaunch(String experimentId, int attempt, long fromPid) {
        Optional<Experiment> found = ledger.find(experimentId);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Experiment e = found.get();
        RunLocator h = e.handle();
        if (e.status() != ExperimentStatus.RUNNING || e.attempt() != attempt || h == null || !h.launcher()
                || !h.host().equals(dev.sortie.core.util.Hosts.name())) {
            return Optional.empty();
        }
        try {
            if (dev.sortie.core.model.ProcessLocation.parse(h.value()).supervisorPid() != fromPid) {
                return Optional.empty();
            }
        } catch (IllegalArgumentException unreadable) {
            return Optional.empty();
        }
        Experiment mine = e.withHandle(watcherHandle());
        return ledger.update(mine, ExperimentStatus.RUNNING) ? Optional.of(prepared(mine)) : Optional.empty();
    }

    /** How many earlier attempts of an experiment its machine went away under (see {@link #recoverable}); 0 for a first. */
    public int recoveries(Experiment exp) {
        if (exp.attempt() <= 1) {
            return 0;
        }
        return (int) ledger.attempts(exp.id()).stream().filter(a -> a.attempt() < exp.attempt()
                && a.status() == ExperimentStatus.INTERRUPTED && dev.sortie.core.executor.Interruptions.machineGone(a.error())).count();
    }

    /**
     * Why an experiment is queued again, for the worker's line: how its previous attempt ended (the error names the
     * instance a spot interruption or a loss took), at which step, and which attempt of how many comes next
     * ({@code max_recoveries + 1} for a machine gone, {@code retries + 1} otherwise). Empty for a first attempt.
     */
    public Optional<String> whyAgain(Experiment requeued) {
        if (requeued.attempt() <= 1) {
            return Optional.empty();
        }
        Optional<AttemptRecord> previous = ledger.attempts(requeued.id()).stream()
                .filter(a -> a.attempt() == requeued.attempt() - 1).reduce((a, b) -> b);
        if (previous.isEmpty()) {
            return Optional.empty();
        }
        AttemptRecord a = previous.get();
        boolean machine = a.status() == ExperimentStatus.INTERRUPTED && dev.sortie.core.executor.Interruptions.machineGone(a.error());
        long step = machine ? lastStep(requeued.id()) : -1;
        String of;
        if (machine) {
            int max = maxRecoveries(requeued);
            of = "attempt " + requeued.attempt() + " of " + (max + 1) + " (max_recoveries " + max + "), from its last checkpoint";
        } else {
            int retries;
            try {
                retries = TaskSource.fromJson(requeued.task()).resolveRecorded(paths.projectDir()).retries();
            } catch (RuntimeException e) {
                retries = TaskConfig.DEFAULT_RETRIES;
            }
            of = "attempt " + requeued.attempt() + " of " + (retries + 1) + " (retries " + retries + ")";
        }
        return Optional.of("attempt " + a.attempt() + (step >= 0 ? " stopped at step " + step : "") + " ("
                + (a.error() == null ? a.status().label() : a.error()) + "); next: " + of);
    }

    /** The highest step of any metric an experiment recorded, or -1: where a run was when it was interrupted. */
    public long lastStep(String experimentId) {
        return ledger.lastStep(experimentId);
    }

    /** Records a claimed experiment that could not even be started (its task no longer parses, say) as failed. */
    public Experiment failClaimed(Experiment claimed, Exception cause) {
        String why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return finish(claimed, ExperimentStatus.FAILED, null, "could not start: " + why);
    }

    public Instant now() {
        return clock.instant();
    }

    /** Stops a running experiment: marks it stopped, then SIGTERM to its process group and SIGKILL after {@code grace}. */
    public Experiment stop(String ref, Duration grace) throws IOException {
        reconcile();
        Experiment exp = find(ref);
        if (exp.status() != ExperimentStatus.RUNNING) {
            return exp;
        }
        Executor executor = executors.get(exp.executor());
        if (executor instanceof DetachableExecutor detachable) {
            // The stop goes to the host first: one that cannot be reached leaves the run going there (or ended
            // there, uncollected), so it is not recorded stopped but as a stop to deliver when the host answers.
            try {
                detachable.stop(exp, grace);
            } catch (dev.sortie.core.executor.HostUnavailableException e) {
                return recordPendingStop(exp, grace, e);
            }
            Experiment stopped = exp.ended(ExperimentStatus.STOPPED, clock.instant(), null, "stopped by user");
            if (!ledger.update(stopped, ExperimentStatus.RUNNING)) {
                return find(exp.id()); // it ended meanwhile; whoever collected it recorded how
            }
            return collectAfterStop(detachable, exp, stopped, grace);
        }
        Experiment stopped = exp.ended(ExperimentStatus.STOPPED, clock.instant(), null, "stopped by user");
        if (!ledger.update(stopped, ExperimentStatus.RUNNING)) {
            return find(exp.id());
        }
        executor.stop(exp.handle(), grace);
        return stopped;
    }

    /** Notes a stop whose host could not be reached on the running experiment (see {@link PendingStop}). */
    private Experiment recordPendingStop(Experiment exp, Duration grace, IOException why) {
        String host = exp.handle() != null && !exp.handle().host().isEmpty() ? exp.handle().host() : exp.executor();
        Experiment pending = exp.ended(ExperimentStatus.RUNNING, null, null, PendingStop.pendingNote(grace, host, why.getMessage()));
        return ledger.update(pending, ExperimentStatus.RUNNING) ? pending : find(exp.id());
    }

    /**
     * A detached run that was asked to stop still saves its checkpoints and artifacts on its way out; unless
     * another process collects it, this one does, waiting up to the grace period and a minute more.
     */
    private Experiment collectAfterStop(DetachableExecutor executor, Experiment running, Experiment stopped, Duration grace) throws IOException {
        Optional<dev.sortie.core.executor.DetachedExecution> attached = executor.attach(running, salvageRequest(running, RunListener.NONE));
        if (attached.isEmpty()) {
            return stopped;
        }
        dev.sortie.core.executor.DetachedExecution e = attached.get();
        Thread timer = new Thread(() -> {
            try {
                Thread.sleep(grace.plusMinutes(1).toMillis());
                e.detach();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }, "sortie-stop-timer");
        timer.setDaemon(true);
        timer.start();
        try {
            RunOutcome outcome = e.await();
            timer.interrupt();
            if (outcome.status() != ExperimentStatus.RUNNING) {
                return finish(stopped, ExperimentStatus.STOPPED, outcome.exitCode(), "stopped by user");
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        return find(stopped.id());
    }

    /** Removes experiments and everything kept for them except store blobs other experiments may share. */
    public void remove(Experiment exp) throws IOException {
        if (exp.status() == ExperimentStatus.RUNNING) {
            throw new ConfigException("experiment '" + exp.name() + "' is running; stop it first ('sortie stop " + exp.name() + "')");
        }
        ledger.delete(exp.id());
        dev.sortie.core.util.FileTrees.delete(paths.runDir(exp.id()));
        if (exp.code() != null) {
            snapshots.get().release(exp.id());
        }
    }

    /**
     * Takes a queued experiment out of the queue and the ledger; false if a worker claimed it first. The claim and
     * this removal race through the same status compare-and-set, so a removed experiment never also runs.
     */
    public boolean removeQueued(Experiment exp) throws IOException {
        Experiment tombstone = exp.ended(ExperimentStatus.STOPPED, clock.instant(), null, "removed from the queue");
        if (!ledger.update(tombstone, ExperimentStatus.QUEUED)) {
            return false;
        }
        remove(tombstone);
        return true;
    }

    public CodeSnapshots snapshots() {
        return snapshots.get();
    }

    // ---------------------------------------------------------------- lookup

    public Experiment find(String ref) {
        Optional<Experiment> e;
        try {
            e = ledger.find(ref);
        } catch (dev.sortie.core.ledger.LedgerException ex) {
            if (ex.isConflict()) {
                throw new NotFoundException(ex.getMessage());
            }
            throw ex;
        }
        return e.orElseThrow(() -> new NotFoundException(notFoundMessage(ref)));
    }

    private String notFoundMessage(String ref) {
        List<Experiment> all = ledger.list();
        if (all.isEmpty()) {
            return "no experiment '" + ref + "': the ledger is empty (run one with 'sortie run')";
        }
        List<String> names = all.stream().map(Experiment::name).toList();
        String hint = dev.sortie.core.config.Suggest.nearest(ref, names).map(s -> "did you mean '" + s + "'? ").orElse("");
        List<String> recent = names.subList(Math.max(0, names.size() - 8), names.size());
        return "no experiment '" + ref + "'; " + hint + "recent: " + String.join(", ", recent) + " ('sortie show' lists all)";
    }

    // ---------------------------------------------------------------- helpers

    private RunLocator watcherHandle() {
        return Launchers.current();
    }


    private static <T> Supplier<T> memoize(Supplier<T> s) {
        return new Supplier<>() {
            private T value;

            @Override
            public synchronized T get() {
                if (value == null) {
                    value = s.get();
                }
                return value;
            }
        };
    }
}
