package dev.sortie.cli.access;

import dev.sortie.agent.LogTailer;
import dev.sortie.cli.CliContext;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.RunRequest;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.model.AttemptRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ExperimentView;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The project's own ledger, store and executors (the embedded mode): what the commands did before a server existed. */
public final class LocalExperiments implements Experiments {
    private final CliContext context;
    private boolean reconciled;

    public LocalExperiments(CliContext context) {
        this.context = context;
    }

    /** The service, for what only the local mode has (a foreground run, executors in this process). */
    public ExperimentService service() {
        return context.service();
    }

    @Override
    public List<ExperimentView> views() {
        context.allowReadOnlyLedger();
        return reconciled().ledger().views();
    }

    @Override
    public List<AttemptRecord> attempts(String experimentId) {
        return context.service().ledger().attempts(experimentId);
    }

    @Override
    public Experiment find(String ref) {
        return context.service().find(ref);
    }

    @Override
    public ExperimentView view(String ref) {
        context.allowReadOnlyLedger();
        ExperimentService service = reconciled();
        Experiment e = service.find(ref);
        return new ExperimentView(e, service.ledger().latestMetrics(e.id()));
    }

    @Override
    public List<dev.sortie.core.model.ArtifactRecord> artifacts(String experimentId) {
        return context.service().ledger().artifacts(experimentId);
    }

    @Override
    public void download(String experimentId, dev.sortie.core.model.ArtifactRecord file, Path target) throws IOException {
        context.store().get(file.hash(), target);
    }

    /** The service, its runs' ends collected once per command (a command reading several experiments pays it once). */
    private ExperimentService reconciled() {
        ExperimentService service = context.service();
        if (!reconciled) {
            service.reconcile();
            reconciled = true;
        }
        return service;
    }

    @Override
    public List<Experiment> queued() {
        return reconciled().ledger().listByStatus(List.of(ExperimentStatus.QUEUED));
    }

    @Override
    public Experiment stop(String ref, Duration grace) {
        try {
            return context.service().stop(ref, grace);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    @Override
    public Experiment requeue(String ref) {
        return context.service().requeue(ref);
    }

    @Override
    public List<Experiment> enqueue(List<RunRequest> requests) throws IOException {
        context.pathsOrHere();
        context.openSnapshotsInBackground();
        return context.service().prepareAll(requests, true).stream().map(p -> p.experiment()).toList();
    }

    @Override
    public int printLog(String ref, Integer attempt, boolean follow, PrintStream out, PrintStream err) throws Exception {
        context.allowReadOnlyLedger();
        ExperimentService service = context.service();
        service.reconcile();
        Experiment exp = service.find(ref);
        int n = attempt == null ? exp.attempt() : attempt;
        if (n < 1 || n > exp.attempt()) {
            throw new IllegalArgumentException("--attempt " + n + ": " + exp.name() + " has attempts 1.." + exp.attempt());
        }
        Path log = service.paths().logFile(exp.id(), n);
                String waitingFor = null;
        // Bytes as the log has them: never decoded (bytes that are not UTF-8 stay as written), never a whole line held.
        LogTailer.ByteSink copy = out::write;
        // Following is not the run: Ctrl-C, SIGTERM or SIGHUP end the follow (exit 0, as for tail -f users) and the
        // run goes on; the follow's exit code is the run's once it ends (1 if it failed, was stopped or lost).
        java.util.concurrent.atomic.AtomicBoolean letGo = new java.util.concurrent.atomic.AtomicBoolean();
        dev.sortie.cli.commands.Interrupts interrupts = follow ? dev.sortie.cli.commands.Interrupts.install("sortie-logs", () -> letGo.set(true), () -> letGo.set(true)) : null;
        LogTailer tailer = new LogTailer(log, 0);
        try {
            while (true) {
                tailer.pump(copy, null);
                while (follow && !letGo.get() && !exp.status().isTerminal() && n == exp.attempt()) {
                    Thread.sleep(200);
                    tailer.pump(copy, null);
                    out.flush();
                    // A run on a remote host is collected as it goes (its log mirrored here), whoever launched it.
                    exp = service.refresh(exp);
                    // Its host not answering is said once, and its return once: the follow ends if it is declared lost.
                    Optional<DetachableExecutor.HostSilence> silence = service.silence(exp.id());
                    if (silence.isPresent() && waitingFor == null) {
                        waitingFor = silence.get().display();
                        err.println("[sortie] waiting for " + waitingFor + ": it cannot be reached (" + silence.get().reason()
                                + "); the run is declared lost after " + Units.human(silence.get().lostAfter()) + " without an answer");
                    } else if (silence.isEmpty() && waitingFor != null && !exp.status().isTerminal()) {
                        err.println("[sortie] " + waitingFor + " answers again");
                        waitingFor = null;
                    }
                }
                tailer.drain(copy, null);
                // A run whose instance went away goes on as its next attempt (see 'Spot interruptions'): so does the follow.
                Experiment next = follow && attempt == null && !letGo.get() ? continuation(service, exp, n, letGo, err) : null;
                if (next == null) {
                    break;
                }
                out.flush();
                err.println("[sortie] " + interruptionLine(service, next, n));
                exp = next;
                n = n + 1;
                log = service.paths().logFile(exp.id(), n);
                tailer.close();
                tailer = new LogTailer(log, 0);
            }
        } finally {
            tailer.close();
            if (interrupts != null) {
                interrupts.close();
            }
        }
        if (follow && letGo.get() && !exp.status().isTerminal()) {
            out.flush();
            err.println("[sortie] stopped following " + exp.name() + "; it goes on on " + exp.executor()
                    + " ('sortie logs -f " + exp.name() + "' follows it again)");
            return 0;
        }
        if (follow && exp.status().isTerminal() && waitingFor != null) {
            err.println("[sortie] " + exp.name() + " " + exp.status().label() + (exp.error() == null ? "" : ": " + exp.error()));
        }
        out.flush();
        if (!Files.exists(log) && !follow) {
            err.println("sortie: " + exp.name() + " has no output yet");
        }
        if (follow && n == exp.attempt() && exp.status().isTerminal() && exp.status() != ExperimentStatus.SUCCEEDED) {
            return ExitCodes.EXPERIMENT_FAILED; // as 'sortie run' whose run failed, was stopped or was declared lost
        }
        return 0;
    }

    /** How long a follow waits for a recoverable end to be continued (a recovery nobody does is orphaned after 15 s). */
    private static final Duration CONTINUATION_WAIT = Duration.ofSeconds(60);

    /**
     * The experiment once attempt {@code n}, which its machine's going away ended, is continued by the next (by its
     * sortie; or by this one, when no sortie recovers it: see {@code OrphanedRecoveries}); null when attempt {@code n}
     * ended otherwise, its recoveries are used, or nothing continued it in time.
     */
    private static Experiment continuation(ExperimentService service, Experiment exp, int n, java.util.concurrent.atomic.AtomicBoolean letGo,
                                           PrintStream err) throws InterruptedException {
        long deadline = System.nanoTime() + CONTINUATION_WAIT.toNanos();
        while (!letGo.get()) {
            exp = service.find(exp.id());
            if (exp.attempt() > n) {
                return exp.attempt() == n + 1 ? exp : null;
            }
            if (!service.recoverable(exp) || exp.error().contains("; not continued: ") || System.nanoTime() > deadline) {
                return null;
            }
            dev.sortie.cli.commands.OrphanedRecoveries.launch(service, err);
            Thread.sleep(500);
        }
        return null;
    }

    /** Where attempt {@code n} was interrupted (the highest step recorded, its end) and that the next one resumes. */
    private static String interruptionLine(ExperimentService service, Experiment exp, int n) {
        String why = service.ledger().attempts(exp.id()).stream().filter(a -> a.attempt() == n).map(a -> a.error())
                .filter(java.util.Objects::nonNull).findFirst().orElse("its instance went away");
        long step = service.lastStep(exp.id());
        return "attempt " + n + " interrupted" + (step >= 0 ? " at step " + step : "") + " (" + why + "); attempt " + (n + 1)
                + " resumes on a replacement from its last checkpoint (its first step follows the checkpoint's):";
    }

    @Override
    public StatusReport status() {
        context.allowReadOnlyLedger();
        ExperimentService service = context.service();
        List<Experiment> changed = service.reconcile();
        reconciled = true;
        // recoveries no sortie does: claimed and said here, launched by a sortie of their own (status does not wait)
        dev.sortie.cli.commands.OrphanedRecoveries.handOff(service, context.paths(), System.err);
        List<dev.sortie.core.executor.DetachableExecutor.HostSilence> silent = service.silentHosts();
        List<Experiment> inFlight = service.ledger().listByStatus(List.of(ExperimentStatus.RUNNING, ExperimentStatus.QUEUED));
        List<StatusReport.InFlight> rows = new java.util.ArrayList<>();
        for (Experiment e : inFlight) {
            rows.add(new StatusReport.InFlight(e, service.executors().describe(e.handle()), service.ledger().latestMetrics(e.id())));
        }
        List<dev.sortie.core.executor.Provisioning.Instance> cloud = new java.util.ArrayList<>();
        List<dev.sortie.core.executor.Provisioning.Volume> volumes = new java.util.ArrayList<>();
        List<String> errors = new java.util.ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        java.util.Set<String> seenVolumes = new java.util.HashSet<>();
        for (String name : service.executors().names()) {
            dev.sortie.core.executor.Provisioning p;
            try {
                if (!(service.executors().get(name) instanceof dev.sortie.core.executor.Provisioning q)) {
                    continue;
                }
                p = q;
            } catch (RuntimeException x) {
                continue; // a broken config is reported by 'sortie executor list'
            }
            try {
                p.cloudInstances().stream().filter(i -> seen.add(i.id())).forEach(cloud::add);
            } catch (IOException | RuntimeException x) {
                errors.add("cannot list the instances of " + name + ": " + x.getMessage());
            }
            try {
                p.volumes().stream().filter(v -> seenVolumes.add(v.id())).forEach(volumes::add);
            } catch (IOException | RuntimeException x) {
                errors.add("cannot list the volumes of " + name + ": " + x.getMessage());
            }
        }
        return new StatusReport(rows, service.executors().names(), dev.sortie.core.engine.ExecutorInstances.of(service, inFlight), cloud,
                volumes, silent, changed, errors, List.of(), failedRecoveries(service));
    }

    /**
     * The recoveries whose replacement could not be launched, with the log that says how the launch went: the
     * background 'sortie recover' log where status handed it off, else the attempt's own log.
     */
    private List<StatusReport.FailedRecovery> failedRecoveries(ExperimentService service) {
        java.nio.file.Path project = context.paths().projectDir();
        java.nio.file.Path recoverLog = context.paths().stateDir().resolve("logs").resolve("recover.log");
        List<StatusReport.FailedRecovery> out = new java.util.ArrayList<>();
        for (dev.sortie.core.engine.FailedRecoveries.Failed f : new dev.sortie.core.engine.FailedRecoveries(service.ledger()).list()) {
            Experiment e = f.experiment();
            java.nio.file.Path log = handedOff(recoverLog, e) ? recoverLog : context.paths().logFile(e.id(), e.attempt());
            String shown = log.startsWith(project) ? project.relativize(log).toString() : log.toString();
            out.add(new StatusReport.FailedRecovery(e.id(), e.name(), e.attempt(), f.lostAttempt(), f.why(), shown));
        }
        return out;
    }

    /** Whether the background launcher's log names this experiment's attempt (its launch was handed off). */
    private static boolean handedOff(java.nio.file.Path recoverLog, Experiment e) {
        try {
            return Files.isRegularFile(recoverLog)
                    && Files.readString(recoverLog).contains(e.name() + ": launching attempt " + e.attempt() + " ");
        } catch (IOException | java.io.UncheckedIOException x) {
            return false;
        }
    }

    @Override
    public List<dev.sortie.core.model.MetricPoint> series(String experimentId, String key) {
        return context.service().ledger().series(experimentId, key);
    }

    @Override
    public Experiment remove(String ref, boolean force) throws Exception {
        ExperimentService service = reconciled();
        Experiment e = service.find(ref);
        if (e.status() == ExperimentStatus.RUNNING && force) {
            service.stop(e.id(), Duration.ofSeconds(10));
            e = service.find(e.id());
            for (int i = 0; i < 100 && e.status() == ExperimentStatus.RUNNING; i++) {
                Thread.sleep(100);
                e = service.find(e.id());
            }
        }
        service.remove(e);
        return e;
    }

    @Override
    public boolean removeQueued(Experiment queued) throws IOException {
        return context.service().removeQueued(queued);
    }

    @Override
    public long stopQueue() {
        ExperimentService service = context.service();
        service.ledger().setControl(dev.sortie.core.engine.QueueWorker.STOP_CONTROL, java.time.Instant.now().toString());
        return service.ledger().countByStatus(ExperimentStatus.RUNNING);
    }

    @Override
    public String where() {
        return "the local ledger";
    }
}
