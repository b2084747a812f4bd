package dev.sortie.executor.remote.run;

import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.Trace;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.AgentLaunch;
import dev.sortie.executor.remote.host.HostCalls;
import dev.sortie.executor.remote.host.HostMemory;
import dev.sortie.executor.remote.host.HostShell;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.sync.AgentBundle;
import dev.sortie.executor.remote.sync.AgentInstall;
import dev.sortie.executor.remote.sync.StoreTransfer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * One host as a remote executor uses it: ONE channel shared by every run and look (opened on first use, reopened
 * after a drop), the host's Sortie folder resolved once per channel, the host's shell for small commands, the agent
 * installed once per version (remembered in {@link HostMemory}), and the remote steps every run needs (fetching
 * blobs from the host's store, salvaging what a dead agent left, stopping runs of attempts given up on while the
 * host was unreachable). How the channel is opened (SSH, a cloud's own) is the {@link Access}'s business.
 */
public final class RemoteHost implements HostCalls, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RemoteHost.class.getName());
    public static final Duration COMMAND_TIMEOUT = AgentLaunch.COMMAND_TIMEOUT;
    private final Access access;
    private final HostMemory memory;
    private final BlobStore store;
    /** How long a connect that found the host unreachable is taken as the answer for the next ones. */
    public static final Duration RECENT_FAILURE = Duration.ofSeconds(3);
    private HostChannel connection;
    private ChannelException lastFailure;
    private long lastFailureAt;
    private RemoteLayout layout;
    private String agentClasspath;
    /** The agent's jars for this host: the agent alone, or with the store's client when the node opens the store itself. */
    private AgentBundle bundle;
    private HostShell shell;
    private int shellFailures;

    /** What a remote executor tells its host about itself: names, settings, and how to open a channel. */
    public interface Access {
        /** The executor's name, for messages. */
        String executorName();

        /** The host as messages and run locators name it (e.g. {@code me@gpu1:22}); stable across processes. */
        String hostKey();

        /** The executor's {@code remote_dir}, {@code ~} for the remote user's home. */
        String remoteDir();

        /** How long a host may stay silent before a run on it is declared lost. */
        Duration lostAfter();

        /** Opens a new channel to the host; without {@code mayAsk}, nothing is asked on the terminal. */
        HostChannel connect(boolean mayAsk) throws ChannelException;
    }

    /** @param stateDir the project's .sortie folder (null: remember nothing between processes); store: where outputs are collected */
    public RemoteHost(Access access, Path stateDir, BlobStore store) {
        this.access = access;
        this.store = store;
        this.memory = new HostMemory(stateDir, access.hostKey());
    }

    /** The identity of the host in run handles: who to ask about a run. */
    public String key() {
        return access.hostKey();
    }

    @Override
    public String display() {
        return access.executorName() + " (" + access.hostKey() + ")";
    }

    public Duration lostAfter() {
        return access.lostAfter();
    }

    public BlobStore store() {
        return store;
    }

    /** The live connection, opening one (and resolving the host's Sortie folder) if there is none. */
    public synchronized HostChannel connection() throws IOException {
        return connection(true);
    }

    /** {@link #connection()}; without {@code mayAsk}, no passphrase is asked for on the terminal. */
    public synchronized HostChannel connection(boolean mayAsk) throws IOException {
        if (connection != null && connection.isOpen()) {
            return connection;
        }
        drop();
        // A host that just did not answer is not asked again at once: 'sortie show' with ten runs on a dead host
        // waits for one connect timeout, not ten.
        if (lastFailure != null && System.nanoTime() - lastFailureAt < RECENT_FAILURE.toNanos()) {
            throw new ChannelException(lastFailure.kind(), lastFailure.getMessage(), lastFailure);
        }
        HostChannel c;
        try {
            c = access.connect(mayAsk);
        } catch (ChannelException e) {
            if (e.hostUnreachable()) {
                lastFailure = e;
                lastFailureAt = System.nanoTime();
            }
            throw e;
        }
        lastFailure = null;
        try {
            layout = new RemoteLayout(resolveRoot(c));
            stopLostRuns(c);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        connection = c;
        Trace.mark("connected to " + key());
        return c;
    }

    /**
     * Forgets that the last connect found the host unreachable, so the next {@link #connection()} tries at once: for
     * a caller that polls a host coming up (a booting instance refuses until its sshd runs).
     */
    public synchronized void forgetFailure() {
        lastFailure = null;
    }

    /** The host's Sortie folder; valid once {@link #connection()} succeeded. */
    public synchronized RemoteLayout layout() throws IOException {
        if (layout == null) {
            connection();
        }
        return layout;
    }

    /**
     * The agent's classpath on the host. This machine remembers (in the project's .sortie) which agent versions it
     * installed on which host, so a warm host costs no round trip here; the launch checks the jars are still there
     * and {@link #reinstallAgent} puts them back if not.
     */
    public synchronized String agentClasspath(HostChannel c) throws IOException {
        if (agentClasspath == null) {
            AgentBundle bundle = this.bundle != null ? this.bundle : AgentBundle.current();
            String classpath = AgentInstall.classpath(layout, bundle.jars());
            if (!memory.installed(classpath)) {
                classpath = AgentInstall.ensure(c, layout, bundle);
                memory.rememberInstall(classpath);
            }
            agentClasspath = classpath;
        }
        return agentClasspath;
    }

    /** Installs {@code bundle} as this host's agent from the next launch on (the agent with the S3 store's client). */
    public synchronized void useBundle(AgentBundle bundle) {
        if (bundle != this.bundle) {
            this.bundle = bundle;
            agentClasspath = null;
        }
    }

    /** Whether this machine remembers syncing a whole file list (by its tree id) into this host's remote_dir. */
    public boolean knowsTree(String treeId) throws IOException {
        return memory.knowsTree(layout().root(), treeId);
    }

    public void rememberTree(String treeId) throws IOException {
        memory.rememberTree(layout().root(), treeId);
    }

    public void forgetTree(String treeId) throws IOException {
        memory.forgetTree(layout().root(), treeId);
    }

    /** The launch found the agent gone from the host: upload it again (and forget that it was there). */
    public synchronized String reinstallAgent(HostChannel c) throws IOException {
        agentClasspath = null;
        memory.forgetInstalls();
        return agentClasspath(c);
    }

    /** Forgets the connection (it broke); the next {@link #connection()} opens a new one. */
    public synchronized void drop() {
        closeShell();
        if (connection != null) {
            connection.close();
        }
        connection = null;
        agentClasspath = null;
    }

    /**
     * The host's shell for small commands over {@code c} ({@link HostShell}), opened if there is none; null once
     * it failed twice in this process (the commands then run on their own, as they would without it).
     */
    public synchronized HostShell shell(HostChannel c) {
        if (shell != null && shell.usableOn(c)) {
            return shell;
        }
        closeShell();
        if (shellFailures >= 2) {
            return null;
        }
        try {
            shell = HostShell.open(c);
            return shell;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the host shell did not open: {0}", e);
            shellFailures++;
            return null;
        }
    }

    private synchronized void shellFailed(HostShell failed) {
        if (shell == failed) {
            closeShell();
        } else {
            failed.close();
        }
        shellFailures++;
    }

    private synchronized void closeShell() {
        if (shell != null) {
            shell.close();
            shell = null;
        }
    }

    /**
     * Runs one of {@link HostShell#FUNCTIONS} on the host: through the host's shell when it answers, else (or when it
     * fails, or the inputs hold a newline) as a command of its own, {@code sh -c SCRIPT} with the same arguments.
     * Either way the script gets its inputs as positional parameters and {@code input} on its stdin. A call that is
     * not {@code repeatable} (a launch) is not run again when the shell lost its answer.
     */
    @Override
    public HostChannel.Result call(HostChannel c, String function, List<String> args, String input, java.io.OutputStream stdout,
                              Duration timeout, boolean repeatable) throws IOException {
        HostShell sh = HostShell.accepts(args, input) ? shell(c) : null;
        if (sh != null) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                HostChannel.Result r = sh.call(function, args, input, out);
                out.writeTo(stdout);
                return r;
            } catch (HostShell.NotSent e) {
                shellFailed(sh);
            } catch (IOException | RuntimeException e) {
                shellFailed(sh);
                if (!repeatable) {
                    // it may have run: running it again could start a second agent
                    throw new ChannelException(ChannelException.Kind.DISCONNECTED, "lost the answer of "
                            + display() + " to " + function.replace('_', ' ') + ": " + e.getMessage(), e);
                }
            }
        }
        List<String> argv = new ArrayList<>(List.of("sh", "-c", HostShell.FUNCTIONS.get(function), function.replace('_', '-')));
        argv.addAll(args);
        return c.exec(argv, new java.io.ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), stdout, timeout);
    }

    /** Copies blobs of the host's store that the local store lacks into it. */
    public void fetch(HostChannel c, Collection<String> hashes) throws IOException {
        List<String> missing = new ArrayList<>();
        for (String h : hashes) {
            if (!store.contains(h)) {
                missing.add(h);
            }
        }
        if (!missing.isEmpty()) {
            StoreTransfer.download(c, layout(), store, missing);
        }
    }

    /** Runs the agent's salvage on the host: kills the leftover process group, saves what the run left, ends its journal. */
    public void salvage(HostChannel c, String experimentId, int attempt, long processGroup) throws IOException {
        String cp = agentClasspath(c);
        HostChannel.Result r = c.exec(List.of("sh", "-c", AgentLaunch.JAVA + AgentLaunch.UTF8_LOCALE + "exec \"$J\" " + AgentLaunch.JVM_FLAGS
                        + " -cp \"$1\" " + AgentLaunch.MAIN + " salvage \"$2\" \"$3\" \"$4\"", "sortie-salvage", cp,
                layout().runDir(experimentId), Integer.toString(attempt), Long.toString(processGroup)), COMMAND_TIMEOUT);
        if (!r.ok()) {
            throw new IOException("salvaging the run on " + display() + " failed (exit " + r.exitCode() + "): " + r.stderr().strip());
        }
    }

    /** Notes an attempt given up on because the host did not answer (see {@link HostMemory#rememberLost}). */
    public void rememberLost(String experimentId, int attempt) {
        memory.rememberLost(experimentId, attempt);
    }

    private void stopLostRuns(HostChannel c) throws IOException {
        for (HostMemory.LostAttempt lost : memory.lostAttempts()) {
            if (lost.wellFormed()) {
                AgentLaunch.requestStop(c, layout, lost.experimentId(), lost.attempt(), Duration.ofSeconds(10));
            }
            memory.forgetLost(lost);
        }
    }

    /** {@code remote_dir} with {@code ~} replaced by the remote user's home. */
    private String resolveRoot(HostChannel c) throws IOException {
        String dir = access.remoteDir();
        if (!dir.startsWith("~")) {
            return stripSlash(dir);
        }
        HostChannel.Result r = c.exec(List.of("sh", "-c", "printf '%s' \"$HOME\""), COMMAND_TIMEOUT);
        String home = r.stdout().strip();
        if (!r.ok() || !home.startsWith("/")) {
            throw new IOException("cannot find the home folder of " + key() + " (" + r.stderr().strip()
                    + "); set 'remote_dir:' to an absolute path");
        }
        return stripSlash(home + dir.substring(1));
    }

    private static String stripSlash(String s) {
        return s.length() > 1 && s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public synchronized void close() {
        drop();
    }
}
