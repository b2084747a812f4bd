package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sortie.cli.output.Cells;
import dev.sortie.cli.output.Table;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExecutorInstances;
import dev.sortie.core.engine.PendingStop;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.model.Experiment;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Experiments in flight with their latest metrics, and the executors they run on.",
                "Runs whose watching process died are marked interrupted here; runs on remote hosts are collected here (latest",
                "metrics, output, their end)."})
public final class StatusCommand extends ContextCommand {
    @Option(names = "--json", description = "Print JSON for programs.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        dev.sortie.cli.access.StatusReport report = experiments().status();
        Instant now = Instant.now();
        Table table = new Table(List.of("name", "status", "executor", "host", "pid", "started", "duration", "metrics"));
        for (dev.sortie.cli.access.StatusReport.InFlight row : report.inFlight()) {
            Experiment e = row.experiment();
            Map<String, Double> m = new TreeMap<>(row.metrics());
            LocatorDescription where = row.where();
            table.add(List.of(e.name(), statusCell(e), e.executor(), where == null ? "" : where.host(),
                    where == null || where.pid() == 0 ? "" : where.pid(),
                    e.startedAt() == null ? "" : e.startedAt(), e.duration(now) == null ? "" : e.duration(now),
                    m.entrySet().stream().map(x -> x.getKey() + "=" + Cells.number(x.getValue())).collect(Collectors.joining(" "))));
        }
        Map<String, Long> perExecutor = new LinkedHashMap<>();
        for (String name : report.executors()) {
            perExecutor.put(name, report.inFlight().stream().filter(r -> r.experiment().executor().equals(name)).count());
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            List<Map<String, Object>> exps = new ArrayList<>();
            for (dev.sortie.cli.access.StatusReport.InFlight row : report.inFlight()) {
                Experiment e = row.experiment();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", e.id());
                m.put("name", e.name());
                m.put("status", e.status().label());
                PendingStop.of(e).ifPresent(p -> m.put("stop", p.delivered() ? "delivered" : "pending"));
                m.put("executor", e.executor());
                // from the executor's description of its locator: the host, and the pid where the executor knows one
                LocatorDescription where = row.where();
                m.put("host", where == null ? null : where.host());
                m.put("pid", where == null ? null : where.pid());
                m.put("started", e.startedAt() == null ? null : e.startedAt().toString());
                m.put("metrics", row.metrics());
                exps.add(m);
            }
            doc.put("experiments", exps);
            doc.put("executors", perExecutor.entrySet().stream().map(x -> Map.of("name", x.getKey(), "running", x.getValue())).toList());
            doc.put("instances", report.instances().stream().map(i -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("executor", i.executor());
                m.put("type", i.type());
                m.put("host", i.host());
                m.put("running", i.running());
                m.put("state", i.state());
                return m;
            }).toList());
            doc.put("unreachable", report.silent().stream().map(h -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("host", h.host());
                m.put("since", h.since() == null ? null : h.since().toString());
                m.put("reason", h.reason());
                m.put("lost_after_seconds", h.lostAfter() == null ? null : h.lostAfter().toSeconds());
                return m;
            }).toList());
            doc.put("recovery_failed", report.failedRecoveries().stream().map(f -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", f.id());
                m.put("name", f.name());
                m.put("attempt", f.attempt());
                m.put("lost_attempt", f.lostAttempt());
                m.put("why", f.why());
                m.put("log", f.log());
                m.put("hint", hint(f));
                return m;
            }).toList());
            doc.put("interrupted_now", report.changed().stream().map(Experiment::name).toList());
            if (!report.workers().isEmpty()) {
                doc.put("workers", report.workers().stream().map(w -> Map.of("executor", w.executor(), "jobs", w.jobs(), "draining", w.draining()))
                        .toList());
            }
            out().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            return 0;
        }
        for (Experiment e : report.changed()) {
            err().println(changeLine(e));
        }
        for (DetachableExecutor.HostSilence h : report.silent()) {
            err().println(silenceLine(h, now));
        }
        for (dev.sortie.cli.access.StatusReport.FailedRecovery f : report.failedRecoveries()) {
            err().println(failedRecoveryLine(f));
        }
        if (report.inFlight().isEmpty()) {
            out().println("no experiments in flight");
        } else {
            table.print(Table.Format.TEXT, out());
        }
        out().println();
        Table executors = new Table(List.of("executor", "type", "instance", "state", "running"));
        for (ExecutorInstances.Instance i : report.instances()) {
            executors.add(List.of(i.executor(), i.type(), i.host(), i.state(), i.running()));
        }
        executors.print(Table.Format.TEXT, out());
        for (String error : report.errors()) {
            err().println("sortie: " + error);
        }
        printCloudInstances(report, now);
        printVolumes(report);
        if (!report.workers().isEmpty()) {
            out().println();
            out().println("queue workers of " + experiments().where() + ": " + report.workers().stream()
                    .map(w -> w.executor() + " (" + w.jobs() + " at a time" + (w.draining() ? ", stopped: 'sortie queue start' starts it" : "") + ")")
                    .collect(Collectors.joining(", ")));
        }
        return 0;
    }

    /** The instances cloud executors started for this user (every state but terminated), once each. */
    private static void printCloudInstances(dev.sortie.cli.access.StatusReport report, Instant now) {
        Table table = new Table(List.of("instance", "executor", "state", "type", "age", "price/h", "cost", "address"));
        for (dev.sortie.core.executor.Provisioning.Instance i : report.cloud()) {
            table.add(List.of(i.id(), (i.executor() == null ? "?" : i.executor()) + (i.ready() ? "" : " (launching)"),
                    i.state(), i.type() + (i.spot() ? " spot" : ""),
                    i.launched() == null ? "" : Units.human(java.time.Duration.between(i.launched(), now)),
                    i.pricePerHour() == null ? "?" : usd(i.pricePerHour()),
                    i.costSoFar(now) == null ? "?" : usd(i.costSoFar(now)),
                    i.address() == null ? "" : i.address()));
        }
        if (!report.cloud().isEmpty()) {
            out().println();
            table.print(Table.Format.TEXT, out());
        }
    }

    /** The named volumes of cloud executors (they outlive instances: data), once each. */
    private static void printVolumes(dev.sortie.cli.access.StatusReport report) {
        Table table = new Table(List.of("volume", "id", "executor", "zone", "size", "state", "attached to"));
        for (dev.sortie.core.executor.Provisioning.Volume v : report.volumes()) {
            table.add(List.of(v.name(), v.id(), v.executor() == null ? "?" : v.executor(), v.zone(), v.sizeGb() + " GiB", v.state(),
                    v.attachedTo() == null ? "" : v.attachedTo()));
        }
        if (!report.volumes().isEmpty()) {
            out().println();
            table.print(Table.Format.TEXT, out());
        }
    }

    /** "$0.0416", "$1.006", "$0.000231": three significant digits (four from a dollar up). */
    static String usd(double v) {
        if (v == 0) {
            return "$0";
        }
        return "$" + new java.math.BigDecimal(v).round(new java.math.MathContext(v >= 1 ? 4 : 3)).stripTrailingZeros().toPlainString();
    }

    /** What this status found out about an experiment that was running: a remote run's end, or a lost watcher. */
    static String changeLine(Experiment e) {
        return switch (e.status()) {
            case INTERRUPTED -> "sortie: " + e.name() + " was interrupted: " + e.error() + " ('sortie retry " + e.name() + "' resumes it)";
            case QUEUED -> "sortie: " + e.name() + " was interrupted: back in the queue (attempt " + e.attempt() + ")";
            default -> "sortie: " + e.name() + " ended on " + e.executor() + ": " + e.status().label()
                    + (e.error() == null ? "" : " (" + e.error() + ")");
        };
    }

    /**
     * "sortie: train-1: its recovery failed: attempt 2, the replacement of attempt 1 (its machine went away), could not
     * be launched: could not start: ... (log: .sortie/logs/recover.log; 'sortie retry train-1' tries again)".
     */
    static String failedRecoveryLine(dev.sortie.cli.access.StatusReport.FailedRecovery f) {
        return "sortie: " + f.name() + ": its recovery failed: attempt " + f.attempt() + ", the replacement of attempt " + f.lostAttempt()
                + " (its machine went away), could not be launched: " + f.why() + " (log: " + f.log() + "; " + hint(f) + ")";
    }

    private static String hint(dev.sortie.cli.access.StatusReport.FailedRecovery f) {
        return "'sortie retry " + f.name() + "' tries again, 'sortie remove " + f.name() + "' forgets it";
    }

    /** "sortie: gpu1 (10.0.0.5:22) cannot be reached since 12:01:02Z (2m10s; connection refused); its runs are declared lost after 5m". */
    static String silenceLine(DetachableExecutor.HostSilence h, Instant now) {
        StringBuilder sb = new StringBuilder("sortie: ").append(h.display()).append(" cannot be reached");
        if (h.since() != null) {
            sb.append(" since ").append(h.since().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))
                    .append(" (").append(Units.human(java.time.Duration.between(h.since(), now))).append(')');
        }
        if (h.reason() != null) {
            sb.append(": ").append(h.reason());
        }
        if (h.lostAfter() != null) {
            sb.append("; its runs are declared lost after ").append(Units.human(h.lostAfter())).append(" without an answer");
        }
        return sb.toString();
    }

    /** A running experiment's status, with a stop waiting for its host or for the run's end. */
    private static String statusCell(Experiment e) {
        return PendingStop.of(e).map(p -> p.delivered() ? "stopping" : "running, stop pending").orElse(e.status().label());
    }
}
