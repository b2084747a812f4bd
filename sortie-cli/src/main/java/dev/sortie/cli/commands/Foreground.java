package dev.sortie.cli.commands;

import dev.sortie.cli.output.Cells;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.AttemptControl;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PreparedRun;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Runs a prepared experiment while the user watches: output streams to stdout as it is written, Ctrl-C stops
 * the run (SIGTERM to it, SIGKILL after the grace period), and a SIGTERM or SIGHUP to sortie itself stops the
 * command and records the experiment as interrupted, so it can be resumed (exit 1). A run on a remote host is detached
 * from instead: it goes on there, and any later sortie collects it.
 */
final class Foreground {
    static final Duration GRACE = Duration.ofSeconds(10);

    private Foreground() {
    }

    static int run(ExperimentService service, PreparedRun prepared, boolean quiet) throws Exception {
        return run(service, prepared, quiet, false);
    }

    /**
     * Runs the attempt, and while its machine goes away under it (a spot interruption, a lost instance, on an executor
     * that replaces machines) and {@code max_recoveries} allows, the next attempt of the same experiment on a
     * replacement, resumed from the last checkpoint.
     *
     * @param detach return as soon as a detachable run has started (it goes on without this process)
     */
    static int run(ExperimentService service, PreparedRun prepared, boolean quiet, boolean detach) throws Exception {
        PreparedRun current = prepared;
        while (true) {
            int code = runAttempt(service, current, quiet, detach);
            Experiment done = service.ledger().find(current.experiment().id()).orElse(null);
            if (done == null || done.attempt() != current.experiment().attempt()) {
                return code;
            }
            long step = service.lastStep(done.id());
            java.util.Optional<PreparedRun> next = service.recover(done);
            if (next.isEmpty()) {
                if (service.recoverable(done) && !quiet) {
                    service.ledger().find(done.id()).ifPresent(e -> System.err.println("sortie: " + e.name() + ": " + e.error()));
                }
                return code;
            }
            if (!quiet) {
                System.err.println("sortie: " + done.name() + ": attempt " + done.attempt() + " "
                        + (dev.sortie.core.executor.Interruptions.preempted(done.error()) ? "preempted" : "lost its instance")
                        + (step >= 0 ? " at step " + step : "") + "; continuing as attempt " + next.get().experiment().attempt()
                        + " on a replacement, " + (next.get().resumed() ? "resumed from its last checkpoint ("
                        + next.get().checkpoints().size() + " file(s))" : "from the start (it saved no checkpoint)"));
            }
            current = next.get();
        }
    }

    private static int runAttempt(ExperimentService service, PreparedRun prepared, boolean quiet, boolean detach) throws Exception {
        Experiment exp = prepared.experiment();
        PrintStream out = System.out;
        PrintStream err = System.err;
        if (!quiet) {
            err.println("sortie: " + (prepared.resumed() ? "resuming" : exp.attempt() > 1 ? "retrying" : "running") + " experiment "
                    + exp.name() + " (" + exp.id() + ") on " + exp.executor()
                    + (exp.attempt() > 1 ? ", attempt " + exp.attempt() : ""));
        }
        AttemptControl control = new AttemptControl(GRACE);
        Interrupts interrupts = Interrupts.install("sortie", () -> {
            err.println();
            if (control.detached()) {
                err.println("sortie: detaching from " + exp.name() + "; it goes on on " + exp.executor());
            } else {
                err.println("sortie: stopping " + exp.name() + " (SIGTERM, SIGKILL in " + GRACE.getSeconds() + "s)");
            }
            control.stop();
        }, control::interruptAndWait);
        if (detach) {
            control.detach();
        }
        ProgressLine progress = new ProgressLine(err, quiet);
        RunListener console = new RunListener() {
            private boolean told;

            @Override
            public void started(dev.sortie.core.model.RunLocator handle) {
                if (!told && control.detached() && !quiet && !detach) {
                    told = true;
                    err.println("sortie: running on " + handle.host() + "; Ctrl-C detaches (the run goes on: 'sortie logs -f "
                            + exp.name() + "' follows it again, 'sortie stop " + exp.name() + "' stops it)");
                }
            }

            @Override
            public void progress(String message) {
                progress.show(message);
            }

            /** Whether the command's output so far ends in the middle of a line. */
            private boolean midLine;

            @Override
            public void output(String line) {
                if (midLine) {
                    out.println(); // sortie's own line starts on a line of its own
                    midLine = false;
                }
                out.println(line);
                out.flush();
            }

            @Override
            public void outputBytes(byte[] bytes, int offset, int length) {
                // As written: no line is held back or re-encoded (a line without a newline shows as it comes).
                out.write(bytes, offset, length);
                out.flush();
                if (length > 0) {
                    midLine = bytes[offset + length - 1] != '\n';
                }
            }
        };
        Experiment done = service.runAttempt(prepared, console, control);
        progress.show("");
        interrupts.close();
        if (interrupts.terminated() && done.status() != ExperimentStatus.SUCCEEDED && done.status() != ExperimentStatus.RUNNING) {
            // SIGTERM/SIGHUP: the run was interrupted: exit 1 as the README says. A run on a remote host that
            // was left running (detached) is not a failure: exit 0 below, as for a Ctrl-C that detaches.
            if (!quiet) {
                err.println(summary(service, done));
            }
            return ExitCodes.EXPERIMENT_FAILED;
        }
        if (done.status() == ExperimentStatus.RUNNING) {
            if (!quiet) {
                if (interrupts.terminated()) {
                    err.println("sortie: sortie was terminated; " + done.name() + " goes on on " + done.executor());
                }
                err.println("sortie: " + done.name() + " (" + done.id() + ") runs on " + done.executor()
                        + (done.handle() == null ? "" : " (" + done.handle().host() + ")") + "; follow it with 'sortie logs -f "
                        + done.name() + "', stop it with 'sortie stop " + done.name() + "'");
            }
            return ExitCodes.OK;
        }
        if (!quiet) {
            err.println(summary(service, done));
        }
        if (done.status() == ExperimentStatus.INTERRUPTED && !done.commandStarted()) {
            return ExitCodes.INFRASTRUCTURE; // it never started: the executor's host could not be reached, say
        }
        if (done.status() == ExperimentStatus.FAILED && control.launchFailure() != null) {
            // The executor could not start it (a full disk on the host, an upload that failed): not the
            // experiment's failure, so not exit code 1; a setting that cannot work is the user's to fix.
            return control.launchFailure() instanceof dev.sortie.core.config.ConfigException
                    ? ExitCodes.USAGE : ExitCodes.INFRASTRUCTURE;
        }
        if (done.status() == ExperimentStatus.FAILED && dev.sortie.core.engine.ExecutorRegistry.LOCAL.equals(done.executor())
                && dev.sortie.core.util.LocalDisk.saysFull(done.error())) {
            // Sortie could not write its logs or records on this machine: the machine's trouble, not the experiment's
            err.println("sortie: error: experiment " + done.name() + " could not be recorded: "
                    + dev.sortie.core.util.LocalDisk.describeFull(service.paths().stateDir()) + "; free some space and retry it");
            return ExitCodes.INFRASTRUCTURE;
        }
        return done.status() == ExperimentStatus.SUCCEEDED ? ExitCodes.OK : ExitCodes.EXPERIMENT_FAILED;
    }

    static String summary(ExperimentService service, Experiment e) {
        StringBuilder sb = new StringBuilder("sortie: experiment ").append(e.name()).append(' ').append(e.status().label());
        Duration d = e.duration(Instant.now());
        if (d != null) {
            sb.append(" in ").append(Units.human(d));
        }
        if (e.status() != ExperimentStatus.SUCCEEDED && e.error() != null) {
            sb.append(": ").append(e.error());
        }
        Map<String, Double> metrics = new TreeMap<>(service.ledger().latestMetrics(e.id()));
        if (!metrics.isEmpty()) {
            sb.append("\n  metrics: ").append(metrics.entrySet().stream()
                    .limit(12).map(m -> m.getKey() + "=" + Cells.number(m.getValue())).collect(Collectors.joining("  ")));
        }
        return sb.toString();
    }
}
