package dev.sortie.agent;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Starting commands as leaders of their own process group and signalling the whole group, so a stop reaches
 * the children a training script forks (data loaders, shells) and not just the first process.
 *
 * <p>The JDK cannot create a session, so commands start under {@code setsid} (util-linux, on every Linux):
 * called from a process that is not a group leader it calls setsid(2) and execs in place, so the pid we get is
 * the group id. Signals go through {@code kill -- -PGID}.
 */
public final class ProcessGroups {
    private static final System.Logger LOG = System.getLogger(ProcessGroups.class.getName());
    private static final String SETSID = findSetsid();

    private ProcessGroups() {
    }

    private static String findSetsid() {
        for (String dir : new String[] {"/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
            if (Files.isExecutable(Path.of(dir, "setsid"))) {
                return dir + "/setsid";
            }
        }
        return null;
    }

    /** The argv that runs {@code command} as the leader of a new session and process group. */
    public static List<String> inNewGroup(List<String> command) {
        if (SETSID == null) {
            return command;
        }
        List<String> out = new ArrayList<>(command.size() + 1);
        out.add(SETSID);
        out.addAll(command);
        return out;
    }

    public static boolean groupsSupported() {
        return SETSID != null;
    }

    /**
     * True if {@code pid} is alive and (when known) started at {@code startedAt}, i.e. not a reused pid. A zombie
     * (dead, not yet reaped: common in containers whose init does not reap orphans) counts as dead.
     */
    public static boolean isAlive(long pid, Instant startedAt) {
        if (pid <= 0) {
            return false;
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !h.get().isAlive() || ProcStat.read(pid).map(ProcStat::zombie).orElse(false)) {
            return false;
        }
        if (startedAt == null) {
            return true;
        }
        return h.get().info().startInstant().map(s -> Math.abs(s.toEpochMilli() - startedAt.toEpochMilli()) < 1000).orElse(true);
    }

    public static Instant startTime(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().startInstant()).orElse(null);
    }

    /** Sends {@code signal} (TERM, KILL, ...) to the process group led by {@code pgid}; falls back to the tree. */
    public static void signalGroup(long pgid, String signal) {
        if (pgid <= 0) {
            return;
        }
        if (SETSID != null) {
            try {
                Process p = new ProcessBuilder("kill", "-s", signal, "--", "-" + pgid)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return;
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "kill -s {0} of group {1} did not run ({2}); signalling its processes one by one", signal, String.valueOf(pgid), e);
                // fall through to the JDK's per-process signals
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        ProcessHandle.of(pgid).ifPresent(h -> {
            boolean force = signal.equals("KILL");
            h.descendants().forEach(d -> {
                if (force) {
                    d.destroyForcibly();
                } else {
                    d.destroy();
                }
            });
            if (force) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        });
    }

    /** Whether any process of the group led by {@code pgid} still runs (the leader, or a child it left behind). */
    public static boolean groupAlive(long pgid) {
        if (pgid <= 0) {
            return false;
        }
        if (ProcStat.available()) {
            return ProcStat.anyLiveInGroup(pgid);
        }
        if (SETSID != null) {
            try {
                Process p = new ProcessBuilder("kill", "-s", "0", "--", "-" + pgid)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
                return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException e) {
                return ProcessHandle.of(pgid).map(ProcessHandle::isAlive).orElse(false);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
        return ProcessHandle.of(pgid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** SIGTERM to the group, then SIGKILL if anything of it is still there after {@code grace}. */
    public static void terminate(long pgid, Duration grace) {
        signalGroup(pgid, "TERM");
        long deadline = System.nanoTime() + grace.toNanos();
        while (System.nanoTime() < deadline) {
            if (!groupAlive(pgid)) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (groupAlive(pgid)) {
            signalGroup(pgid, "KILL");
        }
    }
}
