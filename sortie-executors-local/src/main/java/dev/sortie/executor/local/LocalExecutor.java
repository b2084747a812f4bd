package dev.sortie.executor.local;

import dev.sortie.agent.OutputCollector;
import dev.sortie.agent.ProcessGroups;
import dev.sortie.agent.RunSpec;
import dev.sortie.agent.RunSupervisor;
import dev.sortie.agent.Salvage;
import dev.sortie.agent.WorkFolders;
import dev.sortie.agent.WorkSetup;
import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.executor.LocatorDescription;
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
    private static final System.Logger LOG = System.getLogger(LocalExecutor.class.getName());
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
        RunSpec spec = WorkSetup.prepare(request.experiment().id(), request.experiment().attempt(), request.task(),
                request.code()::materialize, request.files(), request.command(), request.environment(), request.runDir(),
                request.logFile(), request.restore(), store, request.listener());
        Trace.mark("materialized " + request.experiment().name());
        return new LocalExecution(RunSupervisor.start(spec), spec.workRoot());
    }

    @Override
    public Liveness probe(RunLocator handle) {
        if (handle == null) {
            return Liveness.GONE;
        }
        if (!handle.host().equals(Hosts.name())) {
            return Liveness.UNKNOWN;
        }
        ProcessLocation p = ProcessLocation.of(handle, LocalExecutorProvider.TYPE);
        if (p == null) {
            return Liveness.UNKNOWN;
        }
        return ProcessGroups.isAlive(p.supervisorPid(), p.supervisorStart()) ? Liveness.ALIVE : Liveness.GONE;
    }

    @Override
    public boolean stop(RunLocator handle, Duration grace) {
        ProcessLocation p = ProcessLocation.of(handle, LocalExecutorProvider.TYPE);
        if (p == null || p.pid() <= 0 || !ProcessGroups.groupAlive(p.pid())) {
            return false;
        }
        if (p.processStart() != null && ProcessGroups.isAlive(p.pid(), null)
                && !ProcessGroups.isAlive(p.pid(), p.processStart())) {
            return false; // the pid now belongs to someone else
        }
        ProcessGroups.terminate(p.pid(), grace);
        return true;
    }

    /** What users see of a local run's locator: its host and its command's pid. */
    static LocatorDescription describe(RunLocator handle) {
        ProcessLocation p = ProcessLocation.of(handle, LocalExecutorProvider.TYPE);
        return new LocatorDescription(handle.host(), p == null ? 0 : p.pid());
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) throws IOException {
        RunLocator h = experiment.handle();
        if (h != null && h.host().equals(Hosts.name())) {
            stop(h, SALVAGE_GRACE);
        }
        Path root = WorkSetup.workRoot(request.runDir());
        Path cwd = root.resolve(request.task().workdir()).normalize();
        Salvage.collect(new WorkFolders(request.task(), root, cwd), request.logFile(),
                WorkSetup.eventsFile(request.runDir(), experiment.attempt()), store, request.listener());
        FileTrees.delete(root);
    }



    /** A local attempt; once it ends and its outputs are saved, its copy of the code goes. */
    private record LocalExecution(RunSupervisor supervisor, Path root) implements Execution {
        @Override
        public RunLocator handle() {
            return supervisor.handle();
        }

        @Override
        public RunOutcome await() throws InterruptedException {
            RunOutcome outcome = supervisor.await();
            try {
                FileTrees.delete(root);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "the work copy {0} was left behind: {1}", root, e);
                // A leftover copy costs disk, not data: everything declared is already in the store.
            }
            return outcome;
        }

        @Override
        public void stop(Duration grace) {
            supervisor.stop(grace);
        }

        @Override
        public java.util.Optional<IOException> infrastructureFailure() {
            return supervisor.infrastructureFailure();
        }
    }
}
