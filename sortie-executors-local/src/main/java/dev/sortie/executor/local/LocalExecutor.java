package dev.sortie.executor.local;

import dev.sortie.agent.OutputCollector;
import dev.sortie.agent.ProcessGroups;
import dev.sortie.agent.RunSpec;
import dev.sortie.agent.RunSupervisor;
import dev.sortie.agent.Salvage;
import dev.sortie.agent.WorkFolders;
import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.RunHandle;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.FileTrees;
import dev.sortie.core.util.Trace;
import dev.sortie.core.util.Hosts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs experiments on this machine. Each attempt gets its own copy of the code in {@code <runDir>/work}, so
 * several experiments can run at once without clobbering each other; the copy is removed once its checkpoints
 * and artifacts are in the store.
 */
public final class LocalExecutor implements Executor {
    static final Duration SALVAGE_GRACE = Duration.ofSeconds(10);
    private final String name;
    private final BlobStore store;

    public LocalExecutor(String name, BlobStore store) {
        this.name = name;
        this.store = store;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String type() {
        return LocalExecutorProvider.TYPE;
    }

    @Override
    public Execution launch(LaunchRequest request) throws IOException {
        Path root = request.runDir().resolve("work");
        FileTrees.delete(root);
        Files.createDirectories(root);
        request.code().materialize(root);
        Trace.mark("materialized " + request.experiment().name());
        for (Map.Entry<String, byte[]> f : request.files().entrySet()) {
            Path target = root.resolve(f.getKey()).normalize();
            if (!target.startsWith(root)) {
                throw new IOException("refusing to write '" + f.getKey() + "' outside the work folder");
            }
            Files.createDirectories(target.getParent());
            Files.write(target, f.getValue());
        }
        Path cwd = root.resolve(request.task().workdir()).normalize();
        Files.createDirectories(cwd);
        WorkFolders folders = new WorkFolders(request.task(), root, cwd);
        new OutputCollector(root, store).restore(request.restore());
        Files.createDirectories(folders.checkpointDir());
        Files.createDirectories(folders.artifactDir());

        Map<String, String> env = new LinkedHashMap<>(request.environment());
        env.put("SORTIE_CHECKPOINT_DIR", folders.checkpointDir().toString());
        env.put("SORTIE_ARTIFACT_DIR", folders.artifactDir().toString());
        Path events = eventsFile(request.runDir(), request.experiment().attempt());
        env.put("SORTIE_EVENTS_FILE", events.toString());
        List<List<String>> stages = new ArrayList<>();
        if (request.task().setup() != null) {
            stages.add(List.of("sh", "-c", request.task().setup()));
        }
        stages.add(request.command());
        RunSpec spec = new RunSpec(request.experiment().id(), request.task(), stages, env, root, cwd,
                request.logFile(), events, store, request.listener());
        return new LocalExecution(RunSupervisor.start(spec), root);
    }

    @Override
    public Liveness probe(RunHandle handle) {
        if (handle == null) {
            return Liveness.GONE;
        }
        if (!handle.host().equals(Hosts.name())) {
            return Liveness.UNKNOWN;
        }
        return ProcessGroups.isAlive(handle.supervisorPid(), handle.supervisorStart()) ? Liveness.ALIVE : Liveness.GONE;
    }

    @Override
    public boolean stop(RunHandle handle, Duration grace) {
        if (handle == null || handle.pid() <= 0 || !ProcessGroups.groupAlive(handle.pid())) {
            return false;
        }
        if (handle.processStart() != null && ProcessGroups.isAlive(handle.pid(), null)
                && !ProcessGroups.isAlive(handle.pid(), handle.processStart())) {
            return false; // the pid now belongs to someone else
        }
        ProcessGroups.terminate(handle.pid(), grace);
        return true;
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) throws IOException {
        RunHandle h = experiment.handle();
        if (h != null && h.host().equals(Hosts.name())) {
            stop(h, SALVAGE_GRACE);
        }
        Path root = request.runDir().resolve("work");
        Path cwd = root.resolve(request.task().workdir()).normalize();
        Salvage.collect(new WorkFolders(request.task(), root, cwd), request.logFile(),
                eventsFile(request.runDir(), experiment.attempt()), store, request.listener());
        FileTrees.delete(root);
    }

    /** Where the SDKs of one attempt append their events (sdk/PROTOCOL.md). */
    static Path eventsFile(Path runDir, int attempt) {
        return runDir.resolve("logs").resolve("events-" + attempt + ".jsonl");
    }



    /** A local attempt; once it ends and its outputs are saved, its copy of the code goes. */
    private record LocalExecution(RunSupervisor supervisor, Path root) implements Execution {
        @Override
        public RunHandle handle() {
            return supervisor.handle();
        }

        @Override
        public RunOutcome await() throws InterruptedException {
            RunOutcome outcome = supervisor.await();
            try {
                FileTrees.delete(root);
            } catch (IOException e) {
                // A leftover copy costs disk, not data: everything declared is already in the store.
            }
            return outcome;
        }

        @Override
        public void stop(Duration grace) {
            supervisor.stop(grace);
        }
    }
}
