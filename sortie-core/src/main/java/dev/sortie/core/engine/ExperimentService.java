package dev.sortie.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.executor.CodeSource;
import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunHandle;
import dev.sortie.core.params.ParamOverride;
import dev.sortie.core.params.ParamSubstitution;
import dev.sortie.core.params.Params;
import dev.sortie.core.store.CodeSnapshot;
import dev.sortie.core.store.CodeSnapshots;
import dev.sortie.core.util.Trace;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The one code path that decides what happens to an experiment: create it, start an attempt, record how it
 * ended, find runs whose watcher died, stop, retry, remove. The CLI calls it in local mode; the server will
 * call the same methods. Mechanics (processes, hosts, files) belong to the executors.
 */
public final class ExperimentService {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build();
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The executor of a queued experiment that may run wherever the queue is drained. */
    public static final String ANY_EXECUTOR = "";

    private final ProjectPaths paths;
    private final Ledger ledger;
    private final Supplier<CodeSnapshots> snapshots;
    private final ExecutorRegistry executors;
    private final Clock clock;
    private final Map<String, TaskConfig> taskCache = new java.util.concurrent.ConcurrentHashMap<>();

    /** @param snapshots built on first use: git is only loaded by commands that need code */
    public ExperimentService(ProjectPaths paths, Ledger ledger, Supplier<CodeSnapshots> snapshots, ExecutorRegistry executors, Clock clock) {
        this.paths = paths;
        this.ledger = ledger;
        this.snapshots = memoize(snapshots);
        this.executors = executors;
        this.clock = clock;
    }

    public Ledger ledger() {
        return ledger;
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
        return prepareAll(List.of(request), false).get(0);
    }

    /**
     * Validates run requests (one per experiment; a grid is many), snapshots the code once for all of them, and
     * records them in one transaction: queued, or running on behalf of this process.
     */
    public List<PreparedRun> prepareAll(List<RunRequest> requests, boolean queued) throws IOException {
        Path projectDir = paths.projectDir();
        Path yamlFile = projectDir.resolve(TaskConfigLoader.FILE_NAME);
        String yaml = Files.isRegularFile(yamlFile) ? Files.readString(yamlFile, StandardCharsets.UTF_8) : null;
        List<Planned> planned = new ArrayList<>(requests.size());
        java.util.Set<String> names = new java.util.HashSet<>();
        int nextNumber = -1;
        for (RunRequest request : requests) {
            if (yaml == null && request.argv() == null) {
                throw new ConfigException("no " + TaskConfigLoader.FILE_NAME + " in " + projectDir
                        + " and no command after '--': run 'sortie init' to create one, or give the command, e.g. sortie run -- python train.py");
            }
            TaskSource source = new TaskSource(yaml, safeName(projectDir), request.timeout(), request.retries(), queued, false);
            TaskConfig task = source.resolve(projectDir);
            Params params;
            try {
                params = ParamOverride.apply(task.params(), request.overrides());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage());
            }
            CommandSpec command = command(request, task, params, yamlFile);
            String executor = request.executor() == null ? (queued ? ANY_EXECUTOR : ExecutorRegistry.LOCAL) : request.executor();
            if (!executor.equals(ANY_EXECUTOR)) {
                executors.spec(executor);
            }
            String name = request.name();
            if (name != null) {
                if (!NAME.matcher(name).matches()) {
                    throw new ConfigException("'" + name + "' is not a valid experiment name (letters, digits, '.', '_', '-'; up to 100; starting with a letter or digit)");
                }
                if (ledger.nameExists(name) || !names.add(name)) {
                    throw new ConfigException("an experiment named '" + name + "' already exists; pick another name or 'sortie remove " + name + "'");
                }
            } else {
                if (nextNumber < 0) {
                    nextNumber = ledger.count() + 1;
                }
                while (ledger.nameExists(task.name() + "-" + nextNumber) || names.contains(task.name() + "-" + nextNumber)) {
                    nextNumber++;
                }
                name = task.name() + "-" + nextNumber++;
                names.add(name);
            }
            Map<String, byte[]> overrides = new LinkedHashMap<>();
            if (!params.equals(task.params())) {
                if (task.paramsFile() != null) {
                    overrides.put(projectRelative(task, task.paramsFile()), yaml(params));
                } else if (yaml != null) {
                    overrides.put(TaskConfigLoader.FILE_NAME, withParams(yaml, params));
                }
            }
            planned.add(new Planned(newId(), name, executor, command, params, source, task.withParams(params), overrides));
        }
        List<CodeSnapshots.Request> snapshotRequests = new ArrayList<>(planned.size());
        for (Planned p : planned) {
            snapshotRequests.add(new CodeSnapshots.Request(p.id(), p.overrides(), "sortie: experiment " + p.name() + " (" + p.id() + ")"));
        }
        List<CodeSnapshot> snaps = snapshots.get().snapshotAll(snapshotRequests);
        Instant now = clock.instant();
        List<Experiment> experiments = new ArrayList<>(planned.size());
        List<PreparedRun> out = new ArrayList<>(planned.size());
        for (int i = 0; i < planned.size(); i++) {
            Planned p = planned.get(i);
            Experiment exp = queued
                    ? new Experiment(p.id(), p.name(), ExperimentStatus.QUEUED, p.executor(), p.command(), p.params(), snaps.get(i).ref(),
                            p.source().toJson(), now, null, null, null, null, 1, null)
                    : new Experiment(p.id(), p.name(), ExperimentStatus.RUNNING, p.executor(), p.command(), p.params(), snaps.get(i).ref(),
                            p.source().toJson(), now, now, null, null, null, 1, watcherHandle());
            experiments.add(exp);
            out.add(new PreparedRun(exp, p.task(), false));
        }
        ledger.insertAll(experiments);
        return out;
    }

    /** An experiment worked out from a request, before its snapshot and record exist. */
    private record Planned(String id, String name, String executor, CommandSpec command, Params params, TaskSource source,
            TaskConfig task, Map<String, byte[]> overrides) {
    }

    private static CommandSpec command(RunRequest request, TaskConfig task, Params params, Path yamlFile) {
        if (request.argv() != null) {
            return CommandSpec.argv(request.argv());
        }
        if (task.run() == null) {
            throw new ConfigException(yamlFile, 0, "run", "nothing to run: add 'run: <command>' or give a command after '--'");
        }
        Map<String, String> known = new LinkedHashMap<>(System.getenv());
        known.putAll(task.env());
        List<String> unknown = ParamSubstitution.unknownPlaceholders(task.run(), params, known);
        if (!unknown.isEmpty()) {
            throw new ConfigException(yamlFile, 0, "run", "${" + unknown.get(0) + "} names no param and no environment variable (params: "
                    + (params.isEmpty() ? "none" : String.join(", ", params.flatten().keySet())) + ")");
        }
        return CommandSpec.shell(task.run());
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
     * The next attempt of a finished experiment. One that was cut short (interrupted, stopped) keeps its metrics
     * and checkpoints and resumes from them; one that failed or succeeded starts clean.
     */
    private Experiment again(Experiment exp, ExperimentStatus to, RunHandle handle) {
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
        boolean resumed = exp.attempt() > 1 && ledger.artifacts(exp.id()).stream().anyMatch(a -> a.kind() == ArtifactKind.CHECKPOINT);
        return new PreparedRun(exp, task, resumed);
    }

    /**
     * The task of a recorded experiment. A grid of hundreds of experiments shares one task text, so the parse and
     * validation of sortie.yaml is done once per distinct text, not once per experiment.
     */
    private TaskConfig resolveTask(String taskJson) {
        TaskConfig cached = taskCache.get(taskJson);
        if (cached == null) {
            cached = TaskSource.fromJson(taskJson).resolve(paths.projectDir());
            if (taskCache.size() > 64) {
                taskCache.clear();
            }
            taskCache.put(taskJson, cached);
        }
        return cached;
    }

    /**
     * Records a run started by hand (a script or a notebook using an SDK) as a running experiment: a code snapshot
     * of the workspace as it is, the given params, watched by process {@code watcher} and running as {@code tracked}.
     */
    public Experiment openTracked(String id, String name, Params params, List<String> commandLine, RunHandle handle) throws IOException {
        if (name != null) {
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException("'" + name + "' is not a valid experiment name (letters, digits, '.', '_', '-'; starting with a letter or digit)");
            }
            if (ledger.nameExists(name)) {
                throw new ConfigException("an experiment named '" + name + "' already exists; pick another name");
            }
        }
        String base = safeName(paths.projectDir());
        String finalName = name != null ? name : nextName(base);
        CodeSnapshot snap = snapshots.get().snapshot(id, Map.of(), "sortie: tracked run " + finalName + " (" + id + ")");
        Instant now = clock.instant();
        TaskSource source = new TaskSource(null, base, null, null, false, true);
        Experiment exp = new Experiment(id, finalName, ExperimentStatus.RUNNING, ExecutorRegistry.LOCAL,
                CommandSpec.argv(commandLine.isEmpty() ? List.of("(tracked)") : commandLine), params, snap.ref(), source.toJson(),
                now, now, null, null, null, 1, handle);
        ledger.insert(exp);
        return exp;
    }

    /** Ends a tracked run as its SDK (or the disappearance of its process) says. */
    public Experiment finishTracked(Experiment exp, ExperimentStatus status, String error) {
        return finish(exp, status, null, error);
    }

    /** A fresh experiment id. */
    public static String newExperimentId() {
        return newId();
    }

    /** The handle a queue worker (this process) puts on the experiments it claims. */
    public RunHandle workerHandle() {
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
            files.put(projectRelative(task, paramsFile), yaml(exp.params()));
        }
        List<ArtifactRecord> restore = run.resumed()
                ? ledger.artifacts(exp.id()).stream().filter(a -> a.kind() == ArtifactKind.CHECKPOINT).toList()
                : List.of();
        LaunchRequest request = new LaunchRequest(exp, task, codeSource(exp), files, argv(exp), environment(exp, task, paramsFile, run.resumed()),
                paths.logFile(exp.id(), exp.attempt()), paths.runDir(exp.id()), restore,
                new LedgerListener(ledger, exp, console));
        RunOutcome outcome;
        Trace.mark("launch " + exp.name());
        try {
            Execution execution = executor.launch(request);
            Trace.mark("launched " + exp.name());
            control.attach(execution);
            outcome = execution.await();
            Trace.mark("ended " + exp.name());
        } catch (IOException e) {
            outcome = new RunOutcome(ExperimentStatus.FAILED, null, "could not start: " + e.getMessage());
        }
        ExperimentStatus status = control.interrupted() ? ExperimentStatus.INTERRUPTED : outcome.status();
        String error = control.interrupted() ? "sortie was terminated while the run was going" : outcome.error();
        Experiment finished = finish(exp, status, outcome.exitCode(), error);
        Trace.mark("recorded " + exp.name());
        control.markRecorded();
        return finished;
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
        env.put("SORTIE_PARAMS_FILE", paramsFile);
        env.put("SORTIE_PROJECT_DIR", paths.projectDir().toString());
        // Python block-buffers stdout into a file; unbuffered, its lines stream live and survive a kill.
        if (!task.env().containsKey("PYTHONUNBUFFERED")) {
            env.put("PYTHONUNBUFFERED", "1");
        }
        return env;
    }

    /** The params file a run reads, relative to its workdir: the task's own, else params.yaml unless the project has an unrelated file of that name. */
    private String paramsFileFor(TaskConfig task) {
        if (task.paramsFile() != null) {
            return task.paramsFile();
        }
        Path candidate = paths.projectDir().resolve(task.workdir()).resolve(TaskConfigLoader.DEFAULT_PARAMS_FILE);
        return Files.exists(candidate) ? ".sortie/params.yaml" : TaskConfigLoader.DEFAULT_PARAMS_FILE;
    }

    private static String projectRelative(TaskConfig task, String workdirRelative) {
        Path p = Path.of(task.workdir()).resolve(workdirRelative).normalize();
        return p.toString().replace('\\', '/');
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
        for (Experiment exp : ledger.listByStatus(List.of(ExperimentStatus.RUNNING))) {
            if (!executors.has(exp.executor())) {
                continue;
            }
            Executor executor = executors.get(exp.executor());
            if (executor.probe(exp.handle()) != Executor.Liveness.GONE) {
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
            Experiment interrupted = exp.ended(ExperimentStatus.INTERRUPTED, clock.instant(), null,
                    "the process watching it stopped (killed or crashed); 'sortie retry " + exp.name() + "' resumes it");
            if (!ledger.update(interrupted, ExperimentStatus.RUNNING)) {
                continue;
            }
            try {
                TaskConfig task = TaskSource.fromJson(exp.task()).resolve(paths.projectDir()).withParams(exp.params());
                executor.salvage(exp, new SalvageRequest(task, paths.logFile(exp.id(), exp.attempt()), paths.runDir(exp.id()),
                        new LedgerListener(ledger, exp, RunListener.NONE)));
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
            retries = source.resolve(paths.projectDir()).retries();
        } catch (RuntimeException e) {
            retries = TaskConfig.DEFAULT_RETRIES;
        }
        if (!interrupted.commandStarted()) {
            // Claimed but never started (it waited for a slot): it did not use an attempt.
            Experiment back = interrupted.unclaimed();
            return ledger.update(back, ExperimentStatus.INTERRUPTED) ? back : interrupted;
        }
        if (interrupted.attempt() > retries) {
            return interrupted;
        }
        Experiment again = interrupted.nextAttempt(ExperimentStatus.QUEUED);
        return ledger.update(again, ExperimentStatus.INTERRUPTED) ? again : interrupted;
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
        Experiment stopped = exp.ended(ExperimentStatus.STOPPED, clock.instant(), null, "stopped by user");
        if (!ledger.update(stopped, ExperimentStatus.RUNNING)) {
            return find(exp.id());
        }
        executors.get(exp.executor()).stop(exp.handle(), grace);
        return stopped;
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

    private String nextName(String base) {
        int n = ledger.count() + 1;
        while (ledger.nameExists(base + "-" + n)) {
            n++;
        }
        return base + "-" + n;
    }

    private static String safeName(Path dir) {
        Path f = dir.getFileName();
        String n = f == null ? "experiment" : f.toString().replaceAll("[^A-Za-z0-9._-]", "-");
        return n.isEmpty() || !Character.isLetterOrDigit(n.charAt(0)) ? "exp" + n : n;
    }

    static String newId() {
        byte[] b = new byte[5];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private RunHandle watcherHandle() {
        ProcessHandle me = ProcessHandle.current();
        return new RunHandle(hostName(), me.pid(), me.info().startInstant().orElse(null), 0, null);
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    static byte[] yaml(Params params) {
        try {
            return YAML.writeValueAsBytes(params.asMap());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** sortie.yaml with its inline params replaced (only in the snapshot: the user's file is never rewritten). */
    static byte[] withParams(String yaml, Params params) {
        try {
            JsonNode root = YAML.readTree(yaml);
            ((ObjectNode) root).set("params", JSON.valueToTree(params.asMap()));
            return YAML.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
