package dev.sortie.executor.ssh;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.RunHandle;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * A remote machine over SSH. A run is handed to Sortie's agent on the host (uploaded once per version, by content
 * hash), with its code synced content-addressed into a node-local cache; the agent runs it detached from the SSH
 * session and keeps a journal of what it reports, which this side follows and collects into the local ledger
 * and store. See {@link RemoteLayout} for what lives where on the host.
 */
public final class SshExecutor implements DetachableExecutor {
    private final SshExecutorConfig config;
    private final SshPaths paths;

    public SshExecutor(SshExecutorConfig config, SshPaths paths) {
        this.config = config;
        this.paths = paths;
    }

    public SshExecutorConfig config() {
        return config;
    }

    /** Where this executor connects (options and ssh config combined); reads the ssh config, connects nowhere. */
    public SshTarget target() {
        return config.resolve(paths);
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return SshExecutorProvider.TYPE;
    }

    /** Connects, probes the host and disconnects: {@code sortie executor test NAME}. */
    public HostReport test() throws IOException {
        try (SshConnection c = connect()) {
            return HostProbe.probe(c);
        }
    }

    /** A new connection to the host; the caller closes it. */
    public SshConnection connect() throws SshConnectionException {
        return SshConnection.open(config, paths);
    }

    /** The host as it was when first probed by this executor (cached): GPUs decide a pool's slots. */
    public HostReport report() throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    /** Whether a run handle names a run on this executor's host. */
    public boolean owns(RunHandle handle) {
        throw new UnsupportedOperationException("TODO");
    }

    @Override
    public DetachedExecution launch(LaunchRequest request) throws IOException {
        return launch(request, null);
    }

    /**
     * Launches a run into one of the host's slots (null: no slot accounting, the host runs whatever it is given):
     * fails with {@link SlotBusyException} when another run holds the slot, and with {@link SshConnectionException}
     * when the host cannot be reached.
     */
    public DetachedExecution launch(LaunchRequest request, Slot slot) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    @Override
    public Liveness probe(RunHandle handle) {
        return Liveness.UNKNOWN;
    }

    @Override
    public boolean stop(RunHandle handle, Duration grace) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) {
        throw new UnsupportedOperationException("TODO");
    }

    @Override
    public Collection catchUp(Experiment experiment, SalvageRequest request) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }

    @Override
    public Optional<DetachedExecution> attach(Experiment experiment, SalvageRequest request) throws IOException {
        throw new UnsupportedOperationException("TODO");
    }
}
