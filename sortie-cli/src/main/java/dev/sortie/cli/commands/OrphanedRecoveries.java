package dev.sortie.cli.commands;

import dev.sortie.agent.ProcessGroups;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.ProjectPaths;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The CLI's side of core's {@link dev.sortie.core.engine.OrphanedRecoveries} (the one code path that decides to
 * continue a run whose instance went away while no sortie followed it): its lines on stderr, and the summary of an
 * attempt that ended while it was launched. {@link #launch} launches here and waits ({@code queue start},
 * {@code logs -f}, {@code run}); {@link #handOff} hands each launch to a sortie process of its own, so that
 * {@code status} answers at once instead of after a replacement instance was provisioned.
 */
public final class OrphanedRecoveries {
    private static final System.Logger LOG = System.getLogger(OrphanedRecoveries.class.getName());
    /** How long the claiming process waits for the launching one to take the attempt over (a JVM's start, under load). */
    static final Duration TAKE_OVER_WAIT = Duration.ofSeconds(60);

    private OrphanedRecoveries() {
    }

    public static void launch(ExperimentService service, PrintStream err) {
        try {
            for (Experiment done : new dev.sortie.core.engine.OrphanedRecoveries(service, Foreground.GRACE).run(err::println)) {
                summary(service, done, err);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void summary(ExperimentService service, Experiment done, PrintStream err) {
        if (done != null && done.status() != ExperimentStatus.RUNNING) {
            err.println(Foreground.summary(service, done));
        }
    }

    /**
     * Claims the recoveries as {@link #launch} does, says each, and hands its launch to {@code sortie recover} in a
     * session of its own (its output in .sortie/logs/recover.log), returning once that process took the attempt
     * over (a second or so) rather than when the replacement is up. Where no such process can be started, or it
     * does not take over in time, the launch happens here after all: a claimed recovery is never left undone.
     */
    public static void handOff(ExperimentService service, ProjectPaths paths, PrintStream err) {
        dev.sortie.core.engine.OrphanedRecoveries recoveries = new dev.sortie.core.engine.OrphanedRecoveries(service, Foreground.GRACE);
        List<dev.sortie.core.engine.OrphanedRecoveries.Claimed> claimed = recoveries.claim();
        List<Process> children = new ArrayList<>();
        for (dev.sortie.core.engine.OrphanedRecoveries.Claimed c : claimed) {
            err.println(c.line());
            Process child = null;
            try {
                child = startLauncher(paths, c.next());
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "could not start a sortie to launch the replacement of {0}; launching it here: {1}",
                        c.ended().name(), e.toString());
            }
            children.add(child);
        }
        for (int i = 0; i < claimed.size(); i++) {
            dev.sortie.core.engine.OrphanedRecoveries.Claimed c = claimed.get(i);
            Process child = children.get(i);
            if (child != null && tookOver(service, c.next(), child)) {
                continue;
            }
            if (child != null) {
                // it did not take the attempt in time: stopped, and this process launches it, as before, unless it
                // took it over in the meantime (never two launches of one attempt)
                child.destroy();
                try {
                    child.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                Experiment now = service.ledger().find(c.next().id()).orElse(null);
                if (now == null || now.attempt() != c.next().attempt() || now.status() != ExperimentStatus.RUNNING
                        || now.handle() == null || !launchedBy(now, ProcessHandle.current().pid())) {
                    continue;
                }
            }
            try {
                summary(service, recoveries.launch(c, err::println), err);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Whether the launching process made the attempt its own (its launcher is no longer this process). */
    private static boolean tookOver(ExperimentService service, Experiment claimed, Process child) {
        long deadline = System.nanoTime() + TAKE_OVER_WAIT.toNanos();
        long me = ProcessHandle.current().pid();
        while (System.nanoTime() - deadline < 0) {
            Experiment now = service.ledger().find(claimed.id()).orElse(null);
            if (now == null || now.attempt() != claimed.attempt() || now.status() != ExperimentStatus.RUNNING) {
                return true; // removed, stopped or ended meanwhile: nothing left to launch here
            }
            if (now.handle() != null && !launchedBy(now, me)) {
                return true;
            }
            if (!child.isAlive()) {
                LOG.log(System.Logger.Level.WARNING, "the sortie launching the replacement of {0} ended ({1}) before it took it over",
                        claimed.name(), child.exitValue());
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true; // the child still may take it; if not, the next status launches it again (claimRelaunch)
            }
        }
        return false;
    }

    private static boolean launchedBy(Experiment e, long pid) {
        if (!e.handle().launcher()) {
            return false;
        }
        try {
            return dev.sortie.core.model.ProcessLocation.parse(e.handle().value()).supervisorPid() == pid;
        } catch (IllegalArgumentException unreadable) {
            return false;
        }
    }

    /** {@code sortie -C PROJECT recover ID --attempt N --from PID}, in a session of its own (it outlives this process). */
    private static Process startLauncher(ProjectPaths paths, Experiment claimed) throws IOException {
        List<String> cmd = SelfCommand.of(paths.projectDir(), List.of(), List.of("recover", claimed.id(), "--attempt",
                Integer.toString(claimed.attempt()), "--from", Long.toString(ProcessHandle.current().pid())));
        Path log = paths.stateDir().resolve("logs").resolve("recover.log");
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(ProcessGroups.inNewGroup(cmd)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        // a test's pause points are for the sortie it started, not for this one
        pb.environment().keySet().removeIf(k -> k.startsWith("SORTIE_TEST_"));
        return pb.start();
    }
}
