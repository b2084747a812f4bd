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

    private final ProjectPaths paths;
    private final Ledger ledger;
    private final Supplier<CodeSnapshots> snapshots;
    private final ExecutorRegistry executors;
    private final Clock clock;

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
        Path projectDir = paths.projectDir();
        Path yamlFile = projectDir.resolve(TaskConfigLoader.FILE_NAME);
        String yaml = Files.isRegularFile(yamlFile) ? Files.readString(yamlFile, StandardCharsets.UTF_8) : null;
        if (yaml == null && request.argv() == null) {
            throw new ConfigException("no " + TaskConfigLoader.FILE_NAME + " in " + projectDir
                    + " and no command after '--': run 'sortie init' to create one, or give the command, e.g. sortie run -- python train.py");
        }
        TaskSource source = new TaskSource(yaml, safeName(projectDir), request.timeout());
        TaskConfig task = source.resolve(projectDir);

        Params params;
        try {
            params = ParamOverride.apply(task.params(), request.overrides());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        CommandSpec command;
        if (request.argv() != null) {
            command = CommandSpec.argv(request.argv());
        } else if (task.run() != null) {
            command = CommandSpec.shell(task.run());
            Map<String, String> known = new LinkedHashMap<>(System.getenv());
            known.putAll(task.env());
            List<String> unknown = ParamSubstitution.unknownPlaceholders(task.run(), params, known);
            if (!unknown.isEmpty()) {
                throw new ConfigException(yamlFile, 0, "run", "${" + unknown.get(0) + "} names no param and no environment variable (params: "
                        + (params.isEmpty() ? "none" : String.join(", ", params.flatten().keySet())) + ")");
            }
        } else {
            throw new ConfigException(yamlFile, 0, "run", "nothing to run: add 'run: <command>' or give a command after '--'");
        }

        String executor = request.executor() == null ? ExecutorRegistry.LOCAL : request.executor();
        executors.spec(executor);

        String name = request.name();
        if (name != null) {
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException("'" + name + "' is not a valid experiment name (letters, digits, '.', '_', '-'; up to 100; starting with a letter or digit)");
            }
            if (ledger.nameExists(name)) {
                throw new ConfigException("an experiment named '" + name + "' already exists; pick another name or 'sortie remove " + name + "'");
            }
        } else {
            name = nextName(task.name());
        }
        String id = newId();

        Map<String, byte[]> overrides = new LinkedHashMap<>();
        if (!params.equals(task.params())) {
            if (task.paramsFile() != null) {
                overrides.put(projectRelative(task, task.paramsFile()), yaml(params));
            } else if (yaml != null) {
                overrides.put(TaskConfigLoader.FILE_NAME, withParams(yaml, params));
            }
        }
        CodeSnapshot snapshot = snapshots.get().snapshot(id, overrides, "sortie: experiment " + name + " (" + id + ")");
        Instant now = clock.instant();
        Experiment exp = new Experiment(id, name, ExperimentStatus.RUNNING, executor, command, params, snapshot.ref(),
                source.toJson(), now, now, null, null, null, 1, watcherHandle());
        ledger.insert(exp);
        return new PreparedRun(exp, task.withParams(params), false);
    }

    /** Makes a finished experiment run again: same code, params and task; resumed from its checkpoints if it was cut short. */
    public PreparedRun prepareRetry(String ref) {
        reconcile();
        Experiment exp = find(ref);
        if (!exp.status().isTerminal()) {
            throw new ConfigException("experiment '" + exp.name() + "' is " + exp.status().label() + "; only finished experiments can be retried");
        }
        boolean cutShort = exp.status() == ExperimentStatus.INTERRUPTED || exp.status() == ExperimentStatus.STOPPED;
        boolean resumed = cutShort && ledger.artifacts(exp.id()).stream().anyMatch(a -> a.kind() == ArtifactKind.CHECKPOINT);
        Instant now = clock.instant();
        Experiment next = exp.nextAttempt(ExperimentStatus.RUNNING).started(now, watcherHandle());
        if (!ledger.update(next, exp.status())) {
            throw new ConfigException("experiment '" + exp.name() + "' changed while preparing the retry; try again");
        }
        if (!resumed) {
            ledger.clearMetrics(exp.id());
        }
        TaskConfig task = TaskSource.fromJson(exp.task()).resolve(paths.projectDir()).withParams(exp.params());
        return new PreparedRun(next, task, resumed);
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
                new LedgerListener(ledger, exp.id(), console));
        RunOutcome outcome;
        try {
            Execution execution = executor.launch(request);
            control.attach(execution);
            outcome = execution.await();
        } catch (IOException e) {
            outcome = new RunOutcome(ExperimentStatus.FAILED, null, "could not start: " + e.getMessage());
        }
        ExperimentStatus status = control.interrupted() ? ExperimentStatus.INTERRUPTED : outcome.status();
        String error = control.interrupted() ? "sortie was terminated while the run was going" : outcome.error();
        Experiment finished = finish(exp.id(), status, outcome.exitCode(), error);
        control.markRecorded();
        return finished;
    }

    /** Records the end of an attempt unless someone else (a stop) decided it first, in which case only the exit code is added. */
    private Experiment finish(String id, ExperimentStatus status, Integer exitCode, String error) {
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
            return List.of("sh", "-c", ParamSubstitution.shell(c.shell(), exp.params()));
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
            Experiment interrupted = exp.ended(ExperimentStatus.INTERRUPTED, clock.instant(), null,
                    "the process watching it stopped (killed or crashed); 'sortie retry " + exp.name() + "' resumes it");
            if (!ledger.update(interrupted, ExperimentStatus.RUNNING)) {
                continue;
            }
            try {
                TaskConfig task = TaskSource.fromJson(exp.task()).resolve(paths.projectDir()).withParams(exp.params());
                executor.salvage(exp, new SalvageRequest(task, paths.logFile(exp.id(), exp.attempt()), paths.runDir(exp.id()),
                        new LedgerListener(ledger, exp.id(), RunListener.NONE)));
            } catch (IOException | RuntimeException e) {
                ledger.update(interrupted.ended(ExperimentStatus.INTERRUPTED, interrupted.endedAt(), null,
                        interrupted.error() + "; salvage failed: " + e.getMessage()), ExperimentStatus.INTERRUPTED);
            }
            changed.add(interrupted);
        }
        return changed;
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
        deleteTree(paths.runDir(exp.id()));
        if (exp.code() != null) {
            snapshots.get().release(exp.id());
        }
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

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
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
