package dev.sortie.cli.commands;

import dev.sortie.cli.Main;
import dev.sortie.cli.output.Cells;
import dev.sortie.cli.output.Table;
import dev.sortie.cli.output.TerminalWidth;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.QueueWorker;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "queue", mixinStandardHelpOptions = true,
        description = {"The experiment queue: durable in the ledger, drained by workers ('sortie queue start').",
                "Add to it with 'sortie run --queue'."},
        subcommands = {QueueCommand.ListQueue.class, QueueCommand.Start.class, QueueCommand.Stop.class, QueueCommand.Remove.class})
public final class QueueCommand {
    @ParentCommand
    Main main;

    ExperimentService service() {
        return main.context().service();
    }

    @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true, description = "The queued experiments, next first.")
    static final class ListQueue implements Callable<Integer> {
        @ParentCommand
        QueueCommand parent;

        @ArgGroup(exclusive = true)
        OutputFormat format;

        @Override
        public Integer call() {
            List<Experiment> queued = parent.main.experiments().queued();
            Table.Format f = OutputFormat.of(format);
            if (queued.isEmpty() && f == Table.Format.TEXT) {
                System.err.println("the queue is empty");
                return 0;
            }
            // text shows the params that tell the experiments apart (grid points differ in one or two of many);
            // CSV and Markdown all of them, JSON all of them as an object
            List<Map<String, Object>> flat = queued.stream().map(e -> e.params().flatten()).toList();
            Set<String> all = new LinkedHashSet<>();
            flat.forEach(m -> all.addAll(m.keySet()));
            Set<String> shown = f == Table.Format.TEXT ? differing(flat, all) : null;
            Table t = new Table(List.of("position", "name", "params", "executor", "attempt", "queued_at"));
            for (int i = 0; i < queued.size(); i++) {
                Experiment e = queued.get(i);
                Object params = f == Table.Format.JSON ? e.params().asMap() : flat.get(i).entrySet().stream()
                        .filter(x -> shown == null || shown.contains(x.getKey()))
                        .map(x -> x.getKey() + "=" + Cells.text(x.getValue())).collect(Collectors.joining(" "));
                t.add(List.of(i + 1, e.name(), params, e.executor().isEmpty() ? "any" : e.executor(), e.attempt(), e.createdAt()));
            }
            t.fit(TerminalWidth.of(System.getenv()).orElse(Integer.MAX_VALUE));
            t.print(f, System.out);
            if (shown != null && shown.size() < all.size()) {
                int same = all.size() - shown.size();
                System.err.println("params: those that differ; " + same + " more the same in all (--json shows every param)");
            }
            return 0;
        }

        /** The flattened param keys whose values are not the same in every experiment; all keys when none differ. */
        static Set<String> differing(List<Map<String, Object>> flat, Set<String> all) {
            Set<String> differ = new LinkedHashSet<>();
            for (String key : all) {
                Object first = flat.get(0).get(key);
                for (Map<String, Object> m : flat) {
                    if (!Objects.equals(first, m.get(key)) || !m.containsKey(key)) {
                        differ.add(key);
                        break;
                    }
                }
            }
            return differ.isEmpty() ? all : differ;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = {"Drain the queue: run N experiments at a time until it is empty (or, with --follow, keep waiting).",
                    "Several workers may drain one queue at once. Ctrl-C: start no more; again: stop the running ones",
                    "(they are re-queued per their retry policy)."})
    static final class Start implements Callable<Integer> {
        @ParentCommand
        QueueCommand parent;

        @Option(names = {"-j", "--jobs"}, paramLabel = "N", description = "Experiments at a time (default: 1).")
        Integer jobs; // null: 1 locally, the server's --workers through a server

        @Option(names = {"-e", "--executor"}, paramLabel = "EXECUTOR", description = "Where to run them (default: local).")
        String executor; // null: local locally, every executor through a server

        @Option(names = "--follow", description = "Keep waiting for new experiments when the queue is empty.")
        boolean follow;

        @Option(names = {"-q", "--quiet"}, description = "No line per experiment; only the final summary.")
        boolean quiet;

        @Override
        public Integer call() throws Exception {
            if (parent.main.experiments() instanceof dev.sortie.cli.access.RemoteExperiments server) {
                return throughServer(this, server);
            }
            String executor = this.executor == null ? ExecutorRegistry.LOCAL : this.executor;
            int jobs = this.jobs == null ? 1 : this.jobs;
            ExperimentService service = parent.service();
            PrintStream err = System.err;
            service.reconcile();
            OrphanedRecoveries.launch(service, err); // foreground runs whose instance went away while no sortie followed them
            Printer printer = new Printer(err, quiet, service::whyAgain);
            QueueWorker worker = new QueueWorker(service, executor, jobs, follow, printer);
            int[] ctrlCs = {0};
            java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
            Interrupts interrupts = Interrupts.install("sortie-queue", () -> {
                if (ctrlCs[0]++ == 0) {
                    err.println("sortie: starting no more experiments; the running ones finish (Ctrl-C again stops them)");
                    worker.drain();
                } else {
                    err.println("sortie: stopping the running experiments (they go back to the queue)");
                    stopped.set(true);
                    new Thread(worker::shutdown, "sortie-queue-stop").start();
                }
            }, () -> {
                stopped.set(true);
                worker.shutdown();
            });
            long t0 = System.nanoTime();
            dev.sortie.core.util.Trace.cpu("queue start");
            QueueWorker.Progress p = worker.run();
            dev.sortie.core.util.Trace.cpu("queue drained");
            interrupts.close();
            printer.end();
            err.println("sortie: queue " + (p.queued() == 0 ? "drained" : "left with " + p.queued() + " queued") + ": "
                    + p.succeeded() + " succeeded, " + p.failed() + " failed in " + Units.human(Duration.ofNanos(System.nanoTime() - t0))
                    + (p.detached() == 0 ? "" : "; " + p.detached() + (p.detached() == 1 ? " run goes" : " runs go") + " on on "
                    + executor + " (the next 'sortie queue start -e " + executor + "' or 'sortie status' collects "
                    + (p.detached() == 1 ? "it" : "them") + ")"));
            // Experiments stopped by a second Ctrl-C or a SIGTERM/SIGHUP: exit 1, "stopped or interrupted"
            return p.failed() == 0 && !stopped.get() ? ExitCodes.OK : ExitCodes.EXPERIMENT_FAILED;
        }
    }

    /**
     * {@code queue start} logged in to a server: the server's own workers drain its queue (runs go on with every
     * laptop closed), so this starts again those a {@code queue stop} drained, with {@code -j} runs at a time and
     * only {@code -e}'s when given, says what drains and how much waits, and returns: {@code sortie status} and
     * {@code logs -f} follow the runs.
     */
    static int throughServer(QueueCommand.Start start, dev.sortie.cli.access.RemoteExperiments server) {
        if (start.jobs != null && start.jobs < 1) {
            throw new IllegalArgumentException("-j " + start.jobs + ": expected 1 or more experiments at a time");
        }
        dev.sortie.cli.access.RemoteExperiments.QueueState q = server.startQueue(start.executor, start.jobs);
        String workers = q.workers().stream().filter(w -> start.executor == null || w.executor().equals(start.executor))
                .map(w -> w.executor() + " (" + w.jobs() + " at a time" + (w.draining() ? ", stopped" : "") + ")")
                .collect(Collectors.joining(", "));
        System.err.println("sortie: the server at " + server.where() + " drains the queue with its workers: " + workers + "; "
                + q.queued() + " queued, " + q.running() + " running ('sortie status' shows them, 'sortie logs -f EXP' follows one)");
        return ExitCodes.OK;
    }

    /** Shows a worker's progress: a line per finished experiment, and a progress line that redraws on a terminal. */
    static final class Printer implements QueueWorker.Listener {
        private final PrintStream err;
        private final boolean quiet;
        private final boolean terminal = System.console() != null;
        private long lastLine;
        private String last = "";
        private String lastWait;
        private String lastSlotWait;

        /** Why an experiment is queued again (its previous attempt's end, the attempt that comes next), if known. */
        private final java.util.function.Function<Experiment, java.util.Optional<String>> whyAgain;

        Printer(PrintStream err, boolean quiet, java.util.function.Function<Experiment, java.util.Optional<String>> whyAgain) {
            this.err = err;
            this.quiet = quiet;
            this.whyAgain = whyAgain;
        }

        @Override
        public synchronized void finished(Experiment e) {
            if (quiet) {
                return;
            }
            clear();
            String mark = e.status() == ExperimentStatus.SUCCEEDED ? "ok  " : e.status() == ExperimentStatus.QUEUED ? "again" : "FAIL";
            Duration d = e.duration(Instant.now());
            StringBuilder sb = new StringBuilder(mark).append(' ').append(e.name()).append(' ').append(e.status().label());
            if (d != null && e.status() != ExperimentStatus.QUEUED) {
                sb.append(" in ").append(Units.human(d));
            }
            if (e.error() != null && e.status() != ExperimentStatus.SUCCEEDED) {
                sb.append(": ").append(e.error());
            } else if (e.status() == ExperimentStatus.QUEUED) {
                try {
                    whyAgain.apply(e).ifPresent(why -> sb.append(": ").append(why));
                } catch (RuntimeException ex) {
                    // the line is said without why rather than not at all (a ledger busy a moment)
                }
            }
            err.println(sb);
        }

        @Override
        public synchronized void waiting(String executor, String why) {
            if (quiet || why.equals(lastWait)) {
                return;
            }
            lastWait = why;
            clear();
            err.println("sortie: executor " + executor + " cannot start runs now (" + why + "); its experiments stay queued, trying again");
        }

        /** The pool's line, once per change (several launches waiting at once say the same). */
        @Override
        public synchronized void waitingForSlot(String message) {
            if (quiet || message.equals(lastSlotWait)) {
                return;
            }
            lastSlotWait = message;
            clear();
            err.println(message);
        }

        @Override
        public synchronized void recovered(Experiment e) {
            clear();
            err.println("sortie: " + e.name() + " was running under a worker that is gone: "
                    + (e.status() == ExperimentStatus.QUEUED ? "re-queued (attempt " + e.attempt() + ")" : "marked " + e.status().label()));
        }

        @Override
        public synchronized void progress(QueueWorker.Progress p) {
            String line = "queue: " + p.done() + " done (" + p.failed() + " failed), " + p.running() + " running, "
                    + (p.preparing() > 0 ? p.preparing() + " preparing, " : "")
                    + (p.waiting() > 0 ? p.waiting() + " waiting for a slot, " : "") + p.queued() + " queued"
                    + (p.draining() ? ", draining" : "");
            long now = System.nanoTime();
            if (terminal) {
                if (!line.equals(last)) {
                    err.print("\r" + line + "\u001b[K");
                    err.flush();
                }
            } else if (!line.equals(last) && now - lastLine > Duration.ofSeconds(2).toNanos()) {
                err.println(line);
                lastLine = now;
            }
            last = line;
        }

        private void clear() {
            if (terminal && !last.isEmpty()) {
                err.print("\r\u001b[K");
            }
        }

        synchronized void end() {
            if (terminal && !last.isEmpty()) {
                err.println();
            }
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Tell every worker to start no more experiments; running ones finish.")
    static final class Stop implements Callable<Integer> {
        @ParentCommand
        QueueCommand parent;

        @Override
        public Integer call() {
            dev.sortie.cli.access.Experiments where = parent.main.experiments();
            long running = where.stopQueue();
            System.err.println("sortie: workers start no more experiments; " + running + " running will finish"
                    + (where instanceof dev.sortie.cli.access.RemoteExperiments ? " (on the server at " + where.where()
                    + "; 'sortie queue start' starts its workers again)" : ""));
            return 0;
        }
    }

    @Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true, description = "Take experiments out of the queue (and the ledger).")
    static final class Remove implements Callable<Integer> {
        @ParentCommand
        QueueCommand parent;

        @Parameters(paramLabel = "EXP", arity = "0..*", description = "Queued experiment names or ids.")
        List<String> experiments = new ArrayList<>();

        @Option(names = "--all", description = "Every queued experiment.")
        boolean all;

        @Override
        public Integer call() throws Exception {
            dev.sortie.cli.access.Experiments where = parent.main.experiments();
            List<Experiment> targets = new ArrayList<>();
            if (all) {
                targets.addAll(where.queued());
            } else if (experiments.isEmpty()) {
                throw new IllegalArgumentException("name the experiments to take out of the queue, or use --all");
            }
            for (String ref : experiments) {
                Experiment e = where.find(ref);
                if (e.status() != ExperimentStatus.QUEUED) {
                    throw new IllegalArgumentException(e.name() + " is not queued (" + e.status().label() + "); 'sortie remove' removes finished experiments");
                }
                targets.add(e);
            }
            int n = 0;
            for (Experiment e : targets) {
                if (where.removeQueued(e)) {
                    n++;
                }
            }
            System.err.println("sortie: removed " + n + " queued experiment" + (n == 1 ? "" : "s"));
            return 0;
        }
    }
}
