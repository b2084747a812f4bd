package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sortie.cli.output.Cells;
import dev.sortie.cli.output.Table;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PendingStop;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
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
        noteLocalOnly("sortie status");
        context().allowReadOnlyLedger();
        ExperimentService service = context().service();
        List<Experiment> changed = service.reconcile();
        // recoveries no sortie does: claimed and said here, launched by a sortie of their own (status does not wait)
        OrphanedRecoveries.handOff(service, context().paths(), System.err);
        List<DetachableExecutor.HostSilence> silent = service.silentHosts();
        List<Experiment> inFlight = service.ledger().listByStatus(List.of(ExperimentStatus.RUNNING, ExperimentStatus.QUEUED));
        Instant now = Instant.now();
        Table table = new Table(List.of("name", "status", "executor", "host", "pid", "started", "duration", "metrics"));
        for (Experiment e : inFlight) {
            Map<String, Double> m = new TreeMap<>(service.ledger().latestMetrics(e.id()));
            LocatorDescription where = service.executors().describe(e.handle());
            table.add(List.of(e.name(), statusCell(e), e.executor(), where == null ? "" : where.host(),
                    where == null || where.pid() == 0 ? "" : where.pid(),
                    e.startedAt() == null ? "" : e.startedAt(), e.duration(now) == null ? "" : e.duration(now),
                    m.entrySet().stream().map(x -> x.getKey() + "=" + Cells.number(x.getValue())).collect(Collectors.joining(" "))));
        }
        Map<String, Long> perExecutor = new LinkedHashMap<>();
        for (String name : service.executors().names()) {
            perExecutor.put(name, inFlight.stream().filter(e -> e.executor().equals(name)).count());
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            List<Map<String, Object>> exps = new ArrayList<>();
            for (Experiment e : inFlight) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", e.id());
                m.put("name", e.name());
                m.put("status", e.status().label());
                PendingStop.of(e).ifPresent(p -> m.put("stop", p.delivered() ? "delivered" : "pending"));
                m.put("executor", e.executor());
                // from the executor's description of its locator: the host, and the pid where the executor knows one
                LocatorDescription where = service.executors().describe(e.handle());
                m.put("host", where == null ? null : where.host());
                m.put("pid", where == null ? null : where.pid());
                m.put("started", e.startedAt() == null ? null : e.startedAt().toString());
                m.put("metrics", service.ledger().latestMetrics(e.id()));
                exps.add(m);
            }
            doc.put("experiments", exps);
            doc.put("executors", perExecutor.entrySet().stream().map(x -> Map.of("name", x.getKey(), "running", x.getValue())).toList());
            doc.put("instances", instances(service, inFlight).stream().map(i -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("executor", i.executor());
                m.put("type", i.type());
                m.put("host", i.host());
                m.put("running", i.running());
                m.put("state", i.state());
                return m;
            }).toList());
            doc.put("unreachable", silent.stream().map(h -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("host", h.host());
                m.put("since", h.since() == null ? null : h.since().toString());
                m.put("reason", h.reason());
                m.put("lost_after_seconds", h.lostAfter() == null ? null : h.lostAfter().toSeconds());
                return m;
            }).toList());
            doc.put("interrupted_now", changed.stream().map(Experiment::name).toList());
            out().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            return 0;
        }
        for (Experiment e : changed) {
            err().println(changeLine(e));
        }
        for (DetachableExecutor.HostSilence h : silent) {
            err().println(silenceLine(h, now));
        }
        if (inFlight.isEmpty()) {
            out().println("no experiments in flight");
        } else {
            table.print(Table.Format.TEXT, out());
        }
        out().println();
        Table executors = new Table(List.of("executor", "type", "instance", "state", "running"));
        for (Instance i : instances(service, inFlight)) {
            executors.add(List.of(i.executor(), i.type(), i.host(), i.state(), i.running()));
        }
        executors.print(Table.Format.TEXT, out());
        printCloudInstances(service, now);
        return 0;
    }

    /** The instances cloud executors started for this user (every state but terminated), once each. */
    private static void printCloudInstances(ExperimentService service, Instant now) {
        Table table = new Table(List.of("instance", "executor", "state", "type", "age", "price/h", "cost", "address"));
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String name : service.executors().names()) {
            dev.sortie.core.executor.Executor e;
            try {
                e = service.executors().get(name);
            } catch (RuntimeException x) {
                continue; // a broken config is reported by 'sortie executor list'
            }
            if (!(e instanceof dev.sortie.core.executor.Provisioning p)) {
                continue;
            }
            try {
                for (dev.sortie.core.executor.Provisioning.Instance i : p.cloudInstances()) {
                    if (seen.add(i.id())) {
                        table.add(List.of(i.id(), (i.executor() == null ? "?" : i.executor()) + (i.ready() ? "" : " (launching)"),
                                i.state(), i.type() + (i.spot() ? " spot" : ""),
                                i.launched() == null ? "" : Units.human(java.time.Duration.between(i.launched(), now)),
                                i.pricePerHour() == null ? "?" : usd(i.pricePerHour()),
                                i.costSoFar(now) == null ? "?" : usd(i.costSoFar(now)),
                                i.address() == null ? "" : i.address()));
                    }
                }
            } catch (java.io.IOException | RuntimeException x) {
                err().println("sortie: cannot list the instances of " + name + ": " + x.getMessage());
            }
        }
        if (!seen.isEmpty()) {
            out().println();
            table.print(Table.Format.TEXT, out());
        }
        printVolumes(service);
    }

    /** The named volumes of cloud executors (they outlive instances: data), once each. */
    private static void printVolumes(ExperimentService service) {
        Table table = new Table(List.of("volume", "id", "executor", "zone", "size", "state", "attached to"));
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String name : service.executors().names()) {
            dev.sortie.core.executor.Executor e;
            try {
                e = service.executors().get(name);
            } catch (RuntimeException x) {
                continue;
            }
            if (!(e instanceof dev.sortie.core.executor.Provisioning p)) {
                continue;
            }
            try {
                for (dev.sortie.core.executor.Provisioning.Volume v : p.volumes()) {
                    if (seen.add(v.id())) {
                        table.add(List.of(v.name(), v.id(), v.executor() == null ? "?" : v.executor(), v.zone(), v.sizeGb() + " GiB", v.state(),
                                v.attachedTo() == null ? "" : v.attachedTo()));
                    }
                }
            } catch (java.io.IOException | RuntimeException x) {
                err().println("sortie: cannot list the volumes of " + name + ": " + x.getMessage());
            }
        }
        if (!seen.isEmpty()) {
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

    /** One machine of an executor, how many experiments run there now, and whether it answered (busy, idle, unreachable). */
    record Instance(String executor, String type, String host, long running, String state) {
    }

    /** Each executor's machines as configured (this machine for local ones), with the experiments running on each. */
    private static List<Instance> instances(ExperimentService service, List<Experiment> inFlight) {
        java.util.Set<String> unreachable = service.silentHosts().stream().map(DetachableExecutor.HostSilence::host)
                .collect(Collectors.toSet());
        List<Instance> out = new ArrayList<>();
        for (String name : service.executors().names()) {
            String type = service.executors().spec(name).type();
            List<String> hosts;
            try {
                if (service.executors().get(name) instanceof dev.sortie.core.executor.Provisioning) {
                    continue; // its instances are listed on their own, from the cloud
                }
                hosts = service.executors().get(name).instances();
            } catch (RuntimeException e) {
                System.getLogger(StatusCommand.class.getName()).log(System.Logger.Level.DEBUG, "executor {0} lists no hosts: {1}", name, e);
                hosts = List.of(); // a broken config is reported by 'sortie executor list'; status still shows the rest
            }
            List<Experiment> here = inFlight.stream()
                    .filter(e -> e.executor().equals(name) && e.status() == ExperimentStatus.RUNNING).toList();
            if (hosts.isEmpty()) {
                out.add(new Instance(name, type, "this machine", here.size(), here.isEmpty() ? "idle" : "busy"));
                continue;
            }
            for (String host : hosts) {
                long n = here.stream().filter(e -> e.handle() != null && host.equals(e.handle().host())).count();
                out.add(new Instance(name, type, host, n, unreachable.contains(host) ? "unreachable" : n > 0 ? "busy" : "idle"));
            }
        }
        return out;
    }
}
