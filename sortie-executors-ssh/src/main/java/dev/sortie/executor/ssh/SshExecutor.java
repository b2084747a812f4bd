package dev.sortie.executor.ssh;

import dev.sortie.core.store.BlobStore;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.HostProbe;
import dev.sortie.executor.remote.host.HostReport;
import dev.sortie.executor.remote.run.HostExecutor;
import dev.sortie.executor.remote.run.RemoteHost;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A remote machine over SSH: the remote-run path ({@link HostExecutor}: agent, code sync, detached runs,
 * collection) over an SSH connection, opened from the executor's options and the user's ssh config, with its host
 * keys and ssh-agent ({@link SshConnection}).
 */
public final class SshExecutor extends HostExecutor {
    private final SshExecutorConfig config;
    private final SshPaths paths;

    /** @param stateDir the project's .sortie folder (null: remember nothing between processes); store: where outputs are collected */
    public SshExecutor(SshExecutorConfig config, SshPaths paths, Path stateDir, BlobStore store) {
        super(SshExecutorProvider.TYPE, new Access(config, paths), stateDir, store);
        this.config = config;
        this.paths = paths;
    }

    /** An executor that can connect, probe and test, but not run (no store to collect into). */
    public SshExecutor(SshExecutorConfig config, SshPaths paths) {
        this(config, paths, null, null);
    }

    public SshExecutorConfig config() {
        return config;
    }

    /** Where this executor connects (options and ssh config combined); reads the ssh config, connects nowhere. */
    public SshTarget target() {
        return config.resolve(paths);
    }

    /** Connects, probes the host and disconnects: {@code sortie executor test NAME}. */
    public HostReport test() throws IOException {
        try (SshConnection c = connect()) {
            return HostProbe.probe(c, config.remoteDir());
        }
    }

    /** A new connection to the host; the caller closes it. */
    public SshConnection connect() throws SshConnectionException {
        return SshConnection.open(config, paths, true);
    }

    /** How the host's runs reach it: over a new SSH connection each time the last one broke. */
    private record Access(SshExecutorConfig config, SshPaths paths) implements RemoteHost.Access {
        @Override
        public String executorName() {
            return config.name();
        }

        @Override
        public String hostKey() {
            return config.resolve(paths).display();
        }

        @Override
        public String remoteDir() {
            return config.remoteDir();
        }

        @Override
        public Duration lostAfter() {
            return config.lostAfter();
        }

        /** Without {@code mayAsk}, no passphrase is asked for (see {@link SshConnection#open}). */
        @Override
        public HostChannel connect(boolean mayAsk) throws ChannelException {
            return SshConnection.open(config, paths, mayAsk);
        }
    }
}
