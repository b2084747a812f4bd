package dev.sortie.executor.ssh;

import dev.sortie.core.executor.Execution;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.RunHandle;
import java.io.IOException;
import java.time.Duration;

/**
 * A remote machine over SSH. For now it can connect and tell what the host is ({@link #test()}); running
 * experiments on it arrives with the remote agent.
 */
public final class SshExecutor implements Executor {
    static final String NOT_YET = "not yet: running on ssh executors arrives with the remote agent; "
            + "`sortie executor test %s` checks the connection and the host meanwhile";
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

    @Override
    public Execution launch(LaunchRequest request) {
        throw notYet();
    }

    @Override
    public Liveness probe(RunHandle handle) {
        // Nothing runs on ssh executors yet, so nothing can be known to be gone.
        return Liveness.UNKNOWN;
    }

    @Override
    public boolean stop(RunHandle handle, Duration grace) {
        throw notYet();
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) {
        throw notYet();
    }

    private UnsupportedOperationException notYet() {
        return new UnsupportedOperationException("executor '" + name() + "': " + String.format(NOT_YET, name()));
    }
}
