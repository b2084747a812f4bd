package dev.sortie.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.ConfigText;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.params.ParamOverride;
import dev.sortie.core.params.YamlValueEdit;
import dev.sortie.core.params.ParamSubstitution;
import dev.sortie.core.params.Params;
import dev.sortie.core.store.CodeSnapshot;
import dev.sortie.core.store.CodeSnapshots;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Creates experiments: validates what the user asked for (task, params, command, executor, name), snapshots the
 * code, and records them. The part of {@link ExperimentService} that runs before anything runs.
 */
final class ExperimentFactory {
    /** The executor of a queued experiment that may run wherever the queue is drained. */
    static final String ANY_EXECUTOR = "";
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

    ExperimentFactory(ProjectPaths paths, Ledger ledger, Supplier<CodeSnapshots> snapshots, ExecutorRegistry executors, Clock clock) {
        this.paths = paths;
        this.ledger = ledger;
        this.snapshots = snapshots;
        this.executors = executors;
        this.clock = clock;
    }

    /**
     * Validates run requests (one per experiment; a grid is many), snapshots the code once for all of them, and
     * records them in one transaction: queued, or running on behalf of this process.
     */
    List<PreparedRun> prepareAll(List<RunRequest> requests, boolean queued, RunLocator watcher) throws IOException {
        return prepareAll(requests, queued, watcher, null);
    }

    /** As above, with the task's text given ({@code taskYaml}, not null: the server's API) instead of read from sortie.yaml. */
    List<PreparedRun> prepareAll(List<RunRequest> requests, boolean queued, RunLocator watcher, String taskYaml) throws IOException {
        Path projectDir = paths.projectDir();
        Path yamlFile = projectDir.resolve(TaskConfigLoader.FILE_NAME);
        String yaml = taskYaml != null ? taskYaml : Files.isRegularFile(yamlFile) ? ConfigText.read(yamlFile) : null;
        List<Planned> planned = new ArrayList<>(requests.size());
        java.util.Set<String> names = new java.util.HashSet<>();
        int nextNumber = -1;
        for (RunRequest request : requests) {
            if (request.stage() != null && request.argv() != null) {
                throw new ConfigException("--stage " + request.stage() + " runs 'dvc repro " + request.stage()
                        + "'; give either --stage or a command after '--', not both");
            }
            if (yaml == null && request.argv() == null && request.stage() == null) {
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
            CommandSpec command;
            if (request.stage() != null) {
                if (!Path.of(task.workdir()).normalize().toString().isEmpty() && !task.workdir().equals(".")) {
                    throw new ConfigException(yamlFile, 0, "workdir", "--stage runs dvc.yaml of the project folder; it does not go with workdir: "
                            + task.workdir() + " (expected '.' or no workdir:)");
                }
                String changedParams = !params.equals(task.params()) && task.paramsFile() != null ? projectRelative(task, task.paramsFile()) : null;
                String changedText = changedParams == null ? null
                        : new String(paramsFileWith(projectDir.resolve(changedParams), task.params(), params), java.nio.charset.StandardCharsets.UTF_8);
                StageRun stage = StageRun.of(projectDir, request.stage(), changedParams, changedText);
                command = stage.command();
                source = new TaskSource(yaml, source.adHocName(), source.timeout(), source.retries(), queued, false, false, stage.stage(), stage.outputs());
                java.util.LinkedHashSet<String> artifacts = new java.util.LinkedHashSet<>(task.artifacts());
                artifacts.addAll(stage.outputs());
                task = task.withArtifacts(List.copyOf(artifacts));
            } else {
                command = command(request, task, params, yamlFile);
            }
            String executor = request.executor() == null ? (queued ? ANY_EXECUTOR : ExecutorRegistry.LOCAL) : request.executor();
            if (!executor.equals(ANY_EXECUTOR)) {
                executors.spec(executor);
            }
            String name = request.name();
            boolean defaultName = name == null;
            if (!defaultName) {
                ExperimentNames.check(name);
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
                // provisional, for the snapshot's message: the ledger takes the number as it records the run
                name = task.name() + "-" + nextNumber++;
                names.add(name);
            }
            Map<String, byte[]> overrides = new LinkedHashMap<>();
            if (!params.equals(task.params())) {
                if (task.paramsFile() != null) {
                    String file = projectRelative(task, task.paramsFile());
                    overrides.put(file, paramsFileWith(projectDir.resolve(file), task.params(), params));
                } else if (yaml != null) {
                    overrides.put(TaskConfigLoader.FILE_NAME, YamlValueEdit.apply(yaml, "params", task.params(), params)
                            .map(t -> t.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                            .orElseGet(() -> withParams(yaml, params)));
                }
            }
            // A command after '--' has the params of sortie.yaml that it names or -S sets, not all of them (a params
            // file stays whole: the command may read it, as dvc repro does). The snapshot keeps sortie.yaml as written.
            Params own = request.argv() != null && task.paramsFile() == null
                    ? dev.sortie.core.params.CommandParams.used(params, request.argv(), request.overrides()) : params;
            planned.add(new Planned(newId(), name, defaultName ? task.name() : null, executor, command, own, source,
                    task.withParams(own), overrides));
        }
        List<CodeSnapshots.Request> snapshotRequests = new ArrayList<>(planned.size());
        for (Planned p : planned) {
            snapshotRequests.add(new CodeSnapshots.Request(p.id(), p.overrides(), "sortie: experiment " + p.name() + " (" + p.id() + ")"));
        }
        List<CodeSnapshot> snaps = snapshots.get().snapshotAll(snapshotRequests);
        Instant now = clock.instant();
        List<Experiment> experiments = new ArrayList<>(planned.size());
        Map<String, String> defaultNameBases = new java.util.HashMap<>();
        for (int i = 0; i < planned.size(); i++) {
            Planned p = planned.get(i);
            Experiment exp = queued
                    ? new Experiment(p.id(), p.name(), ExperimentStatus.QUEUED, p.executor(), p.command(), p.params(), snaps.get(i).ref(),
                            p.source().toJson(), now, null, null, null, null, 1, null)
                    : new Experiment(p.id(), p.name(), ExperimentStatus.RUNNING, p.executor(), p.command(), p.params(), snaps.get(i).ref(),
                            p.source().toJson(), now, now, null, null, null, 1, watcher);
            experiments.add(exp);
            if (p.defaultNameBase() != null) {
                defaultNameBases.put(p.id(), p.defaultNameBase());
            }
        }
        List<Experiment> recorded = ledger.insertAllNaming(experiments, defaultNameBases);
        List<PreparedRun> out = new ArrayList<>(planned.size());
        for (int i = 0; i < planned.size(); i++) {
            out.add(new PreparedRun(recorded.get(i), planned.get(i).task(), List.of()));
        }
        return out;
    }

    /** An experiment worked out from a request, before its snapshot and record exist. */
    private record Planned(String id, String name, String defaultNameBase, String executor, CommandSpec command, Params params, TaskSource source,
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

    /**
     * Records a run started by hand (a script or a notebook using an SDK) as a running experiment: a code snapshot
     * of the workspace as it is, the given params, watched by process {@code watcher} and running as {@code tracked}.
     */
    Experiment openTracked(String id, String name, Params params, List<String> commandLine, RunLocator handle) throws IOException {
        if (name != null) {
            ExperimentNames.check(name);
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
        return ledger.insertAllNaming(List.of(exp), name != null ? Map.of() : Map.of(id, base)).get(0);
    }

    /**
     * Records a run started by hand on another machine and reported to this ledger's server by an SDK: no code
     * snapshot here (the code is on that machine), no process here to watch or stop; {@code executor} says where it
     * runs ({@code sdk@HOST}, never a configured executor's name, so no worker or reconcile takes it for its own).
     */
    Experiment openReported(String id, String name, String base, Params params, List<String> commandLine, String executor) {
        if (name != null) {
            ExperimentNames.check(name);
            if (ledger.nameExists(name)) {
                throw new ConfigException("an experiment named '" + name + "' already exists; pick another name");
            }
        }
        String finalName = name != null ? name : nextName(base);
        Instant now = clock.instant();
        TaskSource source = new TaskSource(null, base, null, null, false, true);
        Experiment exp = new Experiment(id, finalName, ExperimentStatus.RUNNING, executor,
                CommandSpec.argv(commandLine.isEmpty() ? List.of("(tracked)") : commandLine), params, null, source.toJson(),
                now, now, null, null, null, 1, null);
        return ledger.insertAllNaming(List.of(exp), name != null ? Map.of() : Map.of(id, base)).get(0);
    }

    static String projectRelative(TaskConfig task, String workdirRelative) {
        Path p = Path.of(task.workdir()).resolve(workdirRelative).normalize();
        return p.toString().replace('\\', '/');
    }

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

    static byte[] yaml(Params params) {
        try {
            return YAML.writeValueAsBytes(params.asMap());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The params file with the run's values: the user's text with only the changed values replaced (comments, blank
     * lines and spellings like {@code 0.20} kept), or written anew where that cannot be done exactly.
     */
    static byte[] paramsFileWith(Path file, Params before, Params after) throws IOException {
        if (Files.isRegularFile(file)) {
            Optional<String> edited = YamlValueEdit.apply(ConfigText.read(file), "", before, after);
            if (edited.isPresent()) {
                return edited.get().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return yaml(after);
    }

    /**
     * A params file's text (a snapshot's) with {@code after}'s values: edited in place where every value can be,
     * else written anew. What it held is read from the text itself.
     */
    static byte[] paramsFileWith(String text, Params after) {
        Params before;
        try {
            JsonNode root = YAML.readTree(text);
            if (root == null || !root.isObject()) {
                return yaml(after);
            }
            before = Params.of(JSON.convertValue(root, new com.fasterxml.jackson.core.type.TypeReference<java.util.LinkedHashMap<String, Object>>() { }));
        } catch (IOException | IllegalArgumentException e) {
            return yaml(after);
        }
        return YamlValueEdit.apply(text, "", before, after).map(t -> t.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .orElseGet(() -> yaml(after));
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

}
