package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sortie.cli.output.Cells;
import dev.sortie.cli.output.Table;
import dev.sortie.core.engine.ExperimentService;
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
                "Runs whose watching process died are marked interrupted here."})
public final class StatusCommand extends ContextCommand {
    @Option(names = "--json", description = "Print JSON for programs.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ExperimentService service = context().service();
        List<Experiment> changed = service.reconcile();
        List<Experiment> inFlight = service.ledger().listByStatus(List.of(ExperimentStatus.RUNNING, ExperimentStatus.QUEUED));
        Instant now = Instant.now();
        Table table = new Table(List.of("name", "status", "executor", "host", "pid", "started", "duration", "metrics"));
        for (Experiment e : inFlight) {
            Map<String, Double> m = new TreeMap<>(service.ledger().latestMetrics(e.id()));
            table.add(List.of(e.name(), e.status().label(), e.executor(), e.handle() == null ? "" : e.handle().host(),
                    e.handle() == null || e.handle().pid() == 0 ? "" : e.handle().pid(),
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
                m.put("executor", e.executor());
                m.put("host", e.handle() == null ? null : e.handle().host());
                m.put("pid", e.handle() == null ? null : e.handle().pid());
                m.put("started", e.startedAt() == null ? null : e.startedAt().toString());
                m.put("metrics", service.ledger().latestMetrics(e.id()));
                exps.add(m);
            }
            doc.put("experiments", exps);
            doc.put("executors", perExecutor.entrySet().stream().map(x -> Map.of("name", x.getKey(), "running", x.getValue())).toList());
            doc.put("interrupted_now", changed.stream().map(Experiment::name).toList());
            out().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            return 0;
        }
        for (Experiment e : changed) {
            err().println("sortie: " + e.name() + " was running but its watcher is gone: marked interrupted ('sortie retry " + e.name() + "' resumes it)");
        }
        if (inFlight.isEmpty()) {
            out().println("no experiments in flight");
        } else {
            table.print(Table.Format.TEXT, out());
        }
        out().println();
        Table executors = new Table(List.of("executor", "type", "state", "running"));
        for (Map.Entry<String, Long> x : perExecutor.entrySet()) {
            String type = service.executors().spec(x.getKey()).type();
            executors.add(List.of(x.getKey(), type, x.getValue() > 0 ? "busy" : "idle", x.getValue()));
        }
        executors.print(Table.Format.TEXT, out());
        return 0;
    }
}
