package dev.sortie.executor.ssh;

import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.Trace;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * One host as an ssh executor uses it: ONE multiplexed connection shared by every run and look (opened on first
 * use, reopened after a drop), the host's Sortie folder resolved once per connection, the host's shell for small
 * commands, the agent installed once per version (remembered in {@link HostMemory}), and the remote steps every run needs (fetching blobs from the host's store, salvaging what a
 * dead agent left, stopping runs of attempts given up on while the host was unreachable).
 */
final class SshHost implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SshHost.class.getName());
    static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);
    private final SshExecutor executor;
    private final HostMemory memory;
    private final BlobStore store;
    /** How long a connect that found the host unreachable is taken as the answer for the next ones. */
    static final Duration RECENT_FAILURE = Duration.ofSeconds(3);
    private SshConnection connection;
    private SshConnectionException lastFailure;
    private long lastFailureAt;
    private RemoteLayout layout;
    private String agentClasspath;
    private HostShell shell;
    private int shellFailures;

    SshHost(SshExecutor executor, Path stateDir, BlobStore store) {
        this.executor = executor;
        this.store = store;
        this.memory = new HostMemory(stateDir, executor.target().display());
    }

    /** The identity of the host in run handles: who to ask about a run. */
    String key() {
        return executor.target().display();
    }

    String display() {
        return executor.name() + " (" + executor.target().display() + ")";
    }

    Duration lostAfter() {
        return executor.config().lostAfter();
    }

    BlobStore store() {
        return store;
    }

    /** The live connection, opening one (and resolving the host's Sortie folder) if there is none. */
    synchronized SshConnection connection() throws IOException {
        return connection(true);
    }

    /** {@link #connection()}; without {@code mayAsk}, no passphrase is asked for on the terminal. */
    synchronized SshConnection connection(boolean mayAsk) throws IOException {
        if (connection != null && connection.isOpen()) {
            return connection;
        }
        drop();
        // A host that just did not answer is not asked again at once: 'sortie show' with ten runs on a dead host
        // waits for one connect timeout, not ten.
        if (lastFailure != null && System.nanoTime() - lastFailureAt < RECENT_FAILURE.toNanos()) {
            throw new SshConnectionException(lastFailure.kind(), lastFailure.getMessage(), lastFailure);
        }
        SshConnection c;
        try {
            c = executor.connect(mayAsk);
        } catch (SshConnectionException e) {
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

    /** The host's Sortie folder; valid once {@link #connection()} succeeded. */
    synchronized RemoteLayout layout() throws IOException {
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
    synchronized String agentClasspath(SshConnection c) throws IOException {
        if (agentClasspath == null) {
            AgentBundle bundle = AgentBundle.current();
            String classpath = AgentInstall.classpath(layout, bundle.jars());
            if (!memory.installed(classpath)) {
                classpath = AgentInstall.ensure(c, layout, bundle);
                memory.rememberInstall(classpath);
            }
            agentClasspath = classpath;
        }
        return agentClasspath;
    }

    /** Whether this machine remembers syncing a whole file list (by its tree id) into this host's remote_dir. */
    boolean knowsTree(String treeId) throws IOException {
        return memory.knowsTree(layout().root(), treeId);
    }

    void rememberTree(String treeId) throws IOException {
        memory.rememberTree(layout().root(), treeId);
    }

    void forgetTree(String treeId) throws IOException {
        memory.forgetTree(layout().root(), treeId);
    }

    /** The launch found the agent gone from the host: upload it again (and forget that it was there). */
    synchronized String reinstallAgent(SshConnection c) throws IOException {
        agentClasspath = null;
        memory.forgetInstalls();
        return agentClasspath(c);
    }

    /** Forgets the connection (it broke); the next {@link #connection()} opens a new one. */
    synchronized void drop() {
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
    synchronized HostShell shell(SshConnection c) {
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
    SshConnection.Result call(SshConnection c, String function, List<String> args, String input, java.io.OutputStream stdout,
                              Duration timeout, boolean repeatable) throws IOException {
        HostShell sh = HostShell.accepts(args, input) ? shell(c) : null;
        if (sh != null) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                SshConnection.Result r = sh.call(function, args, input, out);
                out.writeTo(stdout);
                return r;
            } catch (HostShell.NotSent e) {
                shellFailed(sh);
            } catch (IOException | RuntimeException e) {
                shellFailed(sh);
                if (!repeatable) {
                    // it may have run: running it again could start a second agent
                    throw new SshConnectionException(SshConnectionException.Kind.DISCONNECTED, "lost the answer of "
                            + display() + " to " + function.replace('_', ' ') + ": " + e.getMessage(), e);
                }
            }
        }
        List<String> argv = new ArrayList<>(List.of("sh", "-c", HostShell.FUNCTIONS.get(function), function.replace('_', '-')));
        argv.addAll(args);
        return c.exec(argv, new java.io.ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), stdout, timeout);
    }

    /** Copies blobs of the host's store that the local store lacks into it. */
    void fetch(SshConnection c, Collection<String> hashes) throws IOException {
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
    void salvage(SshConnection c, String experimentId, int attempt, long processGroup) throws IOException {
        String cp = agentClasspath(c);
        SshConnection.Result r = c.exec(List.of("sh", "-c", AgentLaunch.JAVA + AgentLaunch.UTF8_LOCALE + "exec \"$J\" " + AgentLaunch.JVM_FLAGS
                        + " -cp \"$1\" " + AgentLaunch.MAIN + " salvage \"$2\" \"$3\" \"$4\"", "sortie-salvage", cp,
                layout().runDir(experimentId), Integer.toString(attempt), Long.toString(processGroup)), COMMAND_TIMEOUT);
        if (!r.ok()) {
            throw new IOException("salvaging the run on " + display() + " failed (exit " + r.exitCode() + "): " + r.stderr().strip());
        }
    }

    /** Notes an attempt given up on because the host did not answer (see {@link HostMemory#rememberLost}). */
    void rememberLost(String experimentId, int attempt) {
        memory.rememberLost(experimentId, attempt);
    }

    private void stopLostRuns(SshConnection c) throws IOException {
        for (HostMemory.LostAttempt lost : memory.lostAttempts()) {
            if (lost.wellFormed()) {
                AgentLaunch.requestStop(c, layout, lost.experimentId(), lost.attempt(), Duration.ofSeconds(10));
            }
            memory.forgetLost(lost);
        }
    }

    /** {@code remote_dir} with {@code ~} replaced by the remote user's home. */
    private String resolveRoot(SshConnection c) throws IOException {
        String dir = executor.config().remoteDir();
        if (!dir.startsWith("~")) {
            return stripSlash(dir);
        }
        SshConnection.Result r = c.exec(List.of("sh", "-c", "printf '%s' \"$HOME\""), COMMAND_TIMEOUT);
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
