package dev.sortie.executor.remote.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.agent.remote.AgentRun;
import dev.sortie.core.executor.CodeFile;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.TestPause;
import dev.sortie.core.util.Trace;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.AgentLaunch;
import dev.sortie.executor.remote.host.HostProbe;
import dev.sortie.executor.remote.host.HostReport;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.host.Slot;
import dev.sortie.executor.remote.host.SlotBusyException;
import dev.sortie.executor.remote.host.SpareFolders;
import dev.sortie.executor.remote.sync.AgentBundle;
import dev.sortie.executor.remote.sync.CodeSync;
import dev.sortie.executor.remote.sync.DvcHostCache;
import dev.sortie.executor.remote.sync.StoreCode;
import dev.sortie.executor.remote.sync.StoreTransfer;
import dev.sortie.executor.remote.sync.SyncProgressLine;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The remote-run path of one host, whatever opens the channel to it (SSH, a cloud's own access): a run is handed to
 * Sortie's agent on the host (uploaded once per version, by content hash), with its code synced content-addressed
 * into a node-local cache; the agent runs it detached from the channel and keeps a journal of what it reports, which
 * this side follows and collects into the local ledger and store ({@link RemoteAttempt}). See {@link RemoteLayout}
 * for what lives where on the host. An executor type supplies the {@link RemoteHost.Access} (its settings and how to
 * open a channel) and extends or wraps this; a provisioner (a cloud) starts the host first, then runs through here.
 */
public class HostExecutor implements DetachableExecutor {
    private static final System.Logger LOG = System.getLogger(HostExecutor.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String type;
    private final RemoteHost.Access access;
    private final BlobStore store;
    private final RemoteHost host;
    private final Path stateDir;
    private HostReport report;
    /** Whether the host may open the project's store itself (see {@link #storeOnNode}); decided on first use. */
    private volatile boolean mayOpenStore;
    /** Whether it does: the store can be opened there (known once {@link #resolveStoreOnNode} ran). */
    private volatile boolean storeOnNode;
    private volatile boolean storeResolved;

    /**
     * @param type     the executor's type, which its runs' locators carry
     * @param access   the executor's settings and how to open a channel to its host
     * @param stateDir the project's .sortie folder (null: remember nothing between processes)
     * @param store    where outputs are collected (null: an executor that can probe and test, but not run)
     */
    public HostExecutor(String type, RemoteHost.Access access, Path stateDir, BlobStore store) {
        this.type = type;
        this.access = access;
        this.store = store;
        this.stateDir = stateDir;
        this.host = new RemoteHost(access, stateDir, store);
    }

    @Override
    public String name() {
        return access.executorName();
    }

    @Override
    public String type() {
        return type;
    }

    /** The host as it was when first probed by this executor (cached): GPUs decide a pool's slots. */
    public synchronized HostReport report() throws IOException {
        if (report == null) {
            report = HostProbe.probe(host.connection(), access.remoteDir());
        }
        return report;
    }

    /**
     * Lets the host read and write the project's store itself, when the store can be opened there ({@link
     * BlobStore#nodeSpec}: an S3 bucket, which a cloud instance reaches with its instance profile): the agent is
     * installed with the store's client, saves checkpoints and artifacts into the bucket as the run goes (so they
     * outlive the instance, followed or not), and restores checkpoints from it; this side then records them by hash
     * without copying their bytes. With a local store this changes nothing.
     */
    public void storeOnNode() {
        mayOpenStore = true;
    }

    /**
     * Decides, on first use by a launch, a warm-up or a collection (not when the executor is made: a command that
     * touches no blob never opens the store), whether the node opens the store, and installs the agent accordingly.
     */
    private void resolveStoreOnNode() {
        if (!mayOpenStore || storeResolved || store == null) {
            return;
        }
        synchronized (this) {
            if (!storeResolved) {
                if (store.nodeSpec().isPresent()) {
                    host.useBundle(AgentBundle.withS3Store());
                    storeOnNode = true;
                }
                storeResolved = true;
            }
        }
    }

    /** The store spec the run's agent opens itself, or null (the host's own store, filled and emptied from here). */
    private JsonNode nodeStore(java.util.Map<String, String> code) {
        if (!storeOnNode) {
            return null;
        }
        var spec = store.nodeSpec().orElseThrow();
        ObjectNode n = JSON.createObjectNode();
        n.put("url", spec.url());
        n.set("options", spec.options());
        if (code != null) {
            code.forEach(n.putObject("code")::put); // git blob id -> SHA-256 in the store
        }
        return n;
    }

    /** The host as this executor's runs use it (one channel, its layout, shell and agent). */
    public RemoteHost host() {
        return host;
    }

    @Override
    public List<String> instances() {
        return List.of(host.key());
    }

    /** Whether a run locator names a run on this executor's host. */
    public boolean owns(RunLocator handle) {
        return RemoteLocators.names(handle, type, host.key());
    }

    @Override
    public DetachedExecution launch(LaunchRequest request) throws IOException {
        return launch(request, null);
    }

    /**
     * Logs in, makes sure the agent is on the host and opens the host's shell, while the caller snapshots the code;
     * the launch reuses all three.
     */
    @Override
    public void warmUp() {
        try {
            // No passphrase prompt from here: it would land between the CLI's own lines; a key that needs one is
            // asked for by the launch, which logs in again if this could not.
            resolveStoreOnNode(); // the store opened here too, beside the CLI's preparation
            HostChannel c = host.connection(false);
            host.agentClasspath(c);
            host.shell(c); // its login (and the host's ~/.bashrc) now, not at the launch
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "warm-up failed (the launch tries again): {0}", e);
            // the launch meets it again and says what to do
        }
    }

    /**
     * Launches a run into one of the host's slots (null: no slot accounting, the host runs whatever it is given):
     * fails with {@link SlotBusyException} when another run holds the slot, and with a {@link ChannelException}
     * when the host cannot be reached. Returns once the agent runs on the host; the execution then collects.
     */
    public DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException {
        if (store == null) {
            throw new IllegalStateException("executor '" + name() + "' was built without a store to collect into");
        }
        resolveStoreOnNode();
        Experiment exp = request.experiment();
        CollectLock lock = CollectLock.tryAcquire(request.runDir()).orElseThrow(() -> new IOException(
                "experiment " + exp.name() + " is being collected by another sortie process"));
        boolean admitted = false;
        try {
            HostChannel c;
            try {
                c = host.connection();
            } catch (ChannelException e) {
                if (!e.hostUnreachable()) {
                    throw e;
                }
                throw new dev.sortie.core.executor.HostUnavailableException(e.getMessage(), e);
            }
            HostReady ready;
            try {
                ready = ready(c, request);
            } catch (ChannelException e) {
                // Nothing was started yet: a host that went away meanwhile is "unavailable" (the queue keeps the
                // experiment, a pool tries its other hosts), not a failed experiment.
                if (!e.hostUnreachable()) {
                    throw e;
                }
                throw new dev.sortie.core.executor.HostUnavailableException(e.getMessage(), e);
            }
            RemoteLayout layout = ready.layout();
            String classpath = ready.classpath();
            List<CodeFile> files = request.code().files();
            List<CodeFile> synced = ready.synced();
            RunListener listener = request.listener();
            String tree = ready.tree();
            boolean known = ready.known();
            java.util.Map<String, byte[]> extra = request.files();
            if (ready.dvc() != null) {
                extra = new java.util.LinkedHashMap<>(extra);
                extra.put(dev.sortie.core.engine.DvcCacheLink.LOCAL_CONFIG, ready.dvc().localConfig());
            }
            AgentRun run = new AgentRun(exp.id(), exp.name(), exp.attempt(), exp.task(), JSON.valueToTree(exp.params().asMap()),
                    request.command(), request.environment(), files, extra, request.restore(), layout.root(),
                    nodeStore(ready.storeCode()), ready.gitCommit());
            try {
                listener.launching();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                lock.close();
                listener.commandExited();
                return finished(new RunOutcome(ExperimentStatus.INTERRUPTED, null, "not started: sortie is shutting down"));
            }
            admitted = true;
            long agentPid = 0;
            String marker = known ? layout.treeMarkers() + "/" + tree : "";
            TestPause.at("agent-launch");
            try {
                // What this machine remembers of the host (agent installed, code synced) is checked by the launch
                // itself; whatever the host lost (its remote_dir cleaned up) is sent again and the launch retried.
                for (int tries = 0; agentPid == 0; tries++) {
                    try {
                        agentPid = AgentLaunch.launch(host, c, classpath, layout.runDir(exp.id()), exp.attempt(), layout.slots(),
                                slot, run.toJson(), marker, AgentLaunch.archiveName(layout, classpath, System.getenv("SORTIE_AGENT_CDS")));
                    } catch (AgentLaunch.AgentMissingException gone) {
                        if (tries >= 2) {
                            throw gone;
                        }
                        classpath = host.reinstallAgent(c);
                    } catch (AgentLaunch.CodeMissingException gone) {
                        if (tries >= 2) {
                            throw gone;
                        }
                        host.forgetTree(tree);
                        sync(c, layout, synced, request);
                        host.rememberTree(tree);
                        marker = "";
                    }
                }
            } catch (ChannelException e) {
                if (e.kind() == ChannelException.Kind.CLOSED) {
                    // the command never reached the host: nothing started there
                    throw new dev.sortie.core.executor.HostUnavailableException(e.getMessage(), e);
                }
                // The connection broke while the agent was being started: it may run on the host now. Not "host
                // down" (a pool would start the experiment again elsewhere): the attempt fails with the reason.
                throw new IOException("lost the connection to " + host.display() + " while starting the agent; the run may have"
                        + " started there (" + e.getMessage() + ")", e);
            }
            Trace.mark("agent started, pid " + agentPid);
            TestPause.at("record");
            // The run is on the host from now on: its record says so before anything else can happen to this process.
            RunLocator handle = RemoteLocators.launched(type, host.key(), agentPid);
            listener.started(handle);
            RemoteAttempt attempt = new RemoteAttempt(host, type, exp.id(), exp.attempt(), request.runDir(), request.logFile(), 0, listener);
            return new RemoteExecution(attempt, lock, exp, handle);
        } catch (IOException | RuntimeException e) {
            lock.close();
            if (admitted) {
                request.listener().commandExited();
            }
            throw e;
        }
    }

    /** What a launch found or made ready on the host before starting the agent. */
    private record HostReady(RemoteLayout layout, String classpath, String tree, boolean known, java.util.Map<String, String> storeCode,
                             List<CodeFile> synced, String gitCommit, DvcHostCache dvc) {
    }

    /**
     * What goes into the host's code cache: the files' blobs and, where the work copy is the snapshot's whole tree,
     * the commit and its trees, so the agent makes the work folder a git checkout of the snapshot commit without a
     * git binary on the host (see the agent's GitCheckout). All by git id: a host that has them gets none again.
     */
    private static List<CodeFile> synced(List<CodeFile> files, dev.sortie.core.executor.GitCommitObjects git) {
        if (git == null) {
            return files;
        }
        List<CodeFile> out = new java.util.ArrayList<>(files);
        out.addAll(git.asCodeFiles());
        return out;
    }

    /** The agent installed, the code synced (unless this machine knows the host has it), checkpoints to resume from sent. */
    private HostReady ready(HostChannel c, LaunchRequest request) throws IOException {
        RemoteLayout layout = host.layout();
        TestPause.at("agent-install");
        // Each step that writes to the host may find its disk full: the host's spare work folders go first.
        String classpath = SpareFolders.withRoom(c, layout, () -> host.agentClasspath(c));
        Trace.mark("agent ready on " + host.key());
        dev.sortie.core.executor.GitCommitObjects git = request.code().gitCommit();
        List<CodeFile> files = synced(request.code().files(), git);
        // A file list this machine synced to the host before is not asked about again: the launch checks its
        // marker, and a host that lost it is synced then (see launch).
        String tree = CodeSync.treeId(files.stream().map(CodeFile::blobId).distinct().toList());
        boolean known = host.knowsTree(tree);
        java.util.Map<String, String> storeCode = null;
        if (!known && storeOnNode) {
            // the node fills its code cache from the store: the code goes up once for every instance (and not at all
            // when this machine put this file list there before), not over SSH to each new one
            TestPause.at("sync");
            storeCode = StoreCode.publish(files, request.code()::open, store, stateDir);
        } else if (!known) {
            TestPause.at("sync");
            SpareFolders.withRoom(c, layout, () -> sync(c, layout, files, request));
            host.rememberTree(tree);
        }
        Trace.mark("code synced");
        List<String> restore = request.restore().stream().map(ArtifactRecord::hash).distinct().toList();
        if (!restore.isEmpty() && !storeOnNode) { // a node that opens the store restores from it itself
            SpareFolders.withRoom(c, layout, () -> StoreTransfer.upload(c, layout, store, restore));
        }
        // A DVC project's data and outs the snapshot names, from the user's DVC cache into the project's cache on the
        // host (content-addressed: what the host has is not sent again); the run's DVC uses that cache there.
        DvcHostCache dvc = stateDir == null ? null : DvcHostCache.of(stateDir.toAbsolutePath().getParent(), layout).orElse(null);
        if (dvc != null) {
            List<CodeFile> code = request.code().files();
            DvcHostCache.Sent sent = SpareFolders.withRoom(c, layout, () -> dvc.send(c, code, request.code()::open,
                    new SyncProgressLine(request.listener(), host.display())));
            request.listener().progress("");
            Trace.mark("DVC cache: " + sent.files() + " of " + sent.named() + " files sent");
        }
        return new HostReady(layout, classpath, tree, known, storeCode, files, git == null ? null : git.commit(), dvc);
    }

    private CodeSync.SyncResult sync(HostChannel c, RemoteLayout layout, List<CodeFile> files, LaunchRequest request) throws IOException {
        CodeSync.SyncResult r = new CodeSync(c, layout).sync(files, request.code()::open, new SyncProgressLine(request.listener(), host.display()));
        request.listener().progress("");
        return r;
    }

    @Override
    public Liveness probe(RunLocator handle) {
        // Remote runs are looked after by catchUp/attach, never salvaged as if their watcher were local.
        return Liveness.UNKNOWN;
    }

    @Override
    public boolean stop(RunLocator handle, Duration grace) {
        // Stopping needs the experiment (its run folder on the host): see stop(Experiment, Duration).
        return false;
    }

    @Override
    public boolean stop(Experiment experiment, Duration grace) throws IOException {
        long group = RemoteLocators.processGroup(experiment.handle(), type, host.key());
        try {
            HostChannel c = host.connection();
            return AgentLaunch.requestStop(c, host.layout(), experiment.id(), experiment.attempt(), grace, group);
        } catch (ChannelException e) {
            if (!e.hostUnreachable()) {
                throw e;
            }
            // the stop did not reach the host: the engine keeps it to deliver when the host answers
            host.drop();
            throw new dev.sortie.core.executor.HostUnavailableException(e.getMessage(), e);
        }
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) throws IOException {
        // Not reached (probe never says GONE); a run whose agent died is salvaged on its host by catchUp.
        catchUp(experiment, request);
    }

    @Override
    public Collection catchUp(Experiment experiment, SalvageRequest request) throws IOException {
        Optional<CollectLock> lock = CollectLock.tryAcquire(request.runDir());
        if (lock.isEmpty()) {
            return Collection.BUSY;
        }
        try (CollectLock held = lock.get()) {
            return attempt(experiment, request).catchUp();
        }
    }

    @Override
    public Optional<DetachedExecution> attach(Experiment experiment, SalvageRequest request) throws IOException {
        Optional<CollectLock> lock = CollectLock.tryAcquire(request.runDir());
        if (lock.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new RemoteExecution(attempt(experiment, request), lock.get(), experiment, experiment.handle()));
    }

    private RemoteAttempt attempt(Experiment experiment, SalvageRequest request) throws IOException {
        resolveStoreOnNode(); // a salvage on the host runs the agent, with the store's client when the run has it
        long group = RemoteLocators.processGroup(experiment.handle(), type, host.key());
        return new RemoteAttempt(host, type, experiment.id(), experiment.attempt(), request.runDir(), request.logFile(), group,
                request.listener());
    }

    @Override
    public void close() {
        host.close();
    }

    private static DetachedExecution finished(RunOutcome outcome) {
        return new DetachedExecution() {
            @Override
            public RunLocator handle() {
                return null;
            }

            @Override
            public RunOutcome await() {
                return outcome;
            }

            @Override
            public void stop(Duration grace) {
            }

            @Override
            public void detach() {
            }
        };
    }

    /** A run on the host as this process follows it; the collect lock is held until it ends or is detached. */
    private final class RemoteExecution implements DetachedExecution {
        private final RemoteAttempt attempt;
        private final CollectLock lock;
        private final Experiment experiment;
        private final RunLocator handle;

        RemoteExecution(RemoteAttempt attempt, CollectLock lock, Experiment experiment, RunLocator handle) {
            this.attempt = attempt;
            this.lock = lock;
            this.experiment = experiment;
            this.handle = handle;
        }

        @Override
        public RunLocator handle() {
            return handle;
        }

        @Override
        public RunOutcome await() throws InterruptedException {
            try {
                return attempt.follow();
            } finally {
                try {
                    lock.close();
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "the collect lock was not released: {0}", e);
                    // the lock goes with the process anyway
                }
            }
        }

        @Override
        public java.util.Optional<IOException> infrastructureFailure() {
            return attempt.infrastructureFailure();
        }

        /** Asks the agent to stop the command; the follow goes on until the run's end is collected. */
        @Override
        public void stop(Duration grace) {
            Thread t = new Thread(() -> {
                try {
                    HostExecutor.this.stop(experiment.withHandle(handle), grace);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "the stop of {0} did not reach its host: {1}", experiment.id(), e);
                    // unreachable host: the run goes on there; the follow reports what happens
                }
            }, "sortie-stop-" + experiment.id());
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void detach() {
            attempt.detach();
        }
    }
}
