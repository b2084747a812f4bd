package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.cli.Main;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.ProjectPaths;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.CodeRef;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.store.DvcExperimentRefs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Experiments made by other tools, brought into the experiments table. */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Bring experiments made by other tools into the experiments table.",
        subcommands = {ImportCommand.Dvc.class})
public final class ImportCommand {
    @ParentCommand
    Main main;

    @Command(name = "dvc", mixinStandardHelpOptions = true,
            description = {"Import this DVC project's experiments (refs/exps, as 'dvc exp show' lists them) with their names, params,"
                    + " metrics, commits and times.",
                    "Read from git; DVC need not be installed. Run it again after more 'dvc exp run's: experiments imported"
                            + " before are skipped."})
    static final class Dvc implements Callable<Integer> {
        private static final ObjectMapper JSON = new ObjectMapper();

        @ParentCommand
        ImportCommand parent;

        @Option(names = "--json", description = "Print what was imported as JSON for programs (an array; empty when nothing was new).")
        boolean json;

        @Override
        public Integer call() throws Exception {
            ProjectPaths paths = parent.main.context().pathsOrHere();
            Path project = paths.projectDir();
            if (!Files.isDirectory(project.resolve(".dvc"))) {
                throw new IllegalArgumentException("no DVC project in " + project.toAbsolutePath().normalize()
                        + ": expected a .dvc/ folder there (made by 'dvc init'); run 'sortie import dvc' in the DVC project's root");
            }
            ExperimentService service = parent.main.context().service();
            Ledger ledger = service.ledger();
            List<Experiment> existing = ledger.list();
            Set<String> imported = new HashSet<>();
            Set<String> names = new HashSet<>();
            for (Experiment e : existing) {
                names.add(e.name());
                if (e.code() != null && e.code().snapshotCommit() != null) {
                    imported.add(e.code().snapshotCommit());
                }
            }
            List<DvcImport.Imported> added = new ArrayList<>();
            int skipped = 0;
            try (DvcExperimentRefs refs = DvcExperimentRefs.open(project)) {
                List<DvcExperimentRefs.Found> found = refs.list();
                List<Experiment> records = new ArrayList<>();
                Map<String, List<MetricPoint>> metrics = new LinkedHashMap<>();
                List<String> kept = new ArrayList<>();
                try {
                    for (DvcExperimentRefs.Found f : found) {
                        if (imported.contains(f.commit())) {
                            skipped++;
                            continue;
                        }
                        DvcImport.Imported one = DvcImport.read(refs, f);
                        String id = ExperimentService.newExperimentId();
                        String name = DvcImport.freeName(f, names);
                        names.add(name);
                        kept.add(id);
                        String ref = refs.keep(f.commit(), id);
                        String taskYaml = one.template().yaml(DvcImport.taskName(project));
                        Experiment e = new Experiment(id, name, ExperimentStatus.SUCCEEDED, ExecutorRegistry.LOCAL,
                                CommandSpec.shell("dvc exp run"), one.params(),
                                new CodeRef(f.baseline(), f.commit(), ref, true),
                                new TaskSource(taskYaml, DvcImport.taskName(project), null, null, false, false).toJson(),
                                f.created(), null, f.created(), 0, null, 1, null);
                        records.add(e);
                        metrics.put(id, one.metrics());
                        added.add(one.as(e));
                        imported.add(f.commit());
                    }
                    // one transaction: a second import after a failure finds none of these half-recorded
                    ledger.insertAll(records);
                } catch (RuntimeException | java.io.IOException e) {
                    for (String id : kept) {
                        refs.release(id);
                    }
                    throw e;
                }
                for (Map.Entry<String, List<MetricPoint>> m : metrics.entrySet()) {
                    if (!m.getValue().isEmpty()) {
                        ledger.recordMetrics(m.getKey(), m.getValue());
                    }
                }
                print(added, found.size(), skipped);
            }
            return 0;
        }

        private void print(List<DvcImport.Imported> added, int found, int skipped) throws java.io.IOException {
            if (json) {
                ArrayNode arr = JSON.createArrayNode();
                for (DvcImport.Imported i : added) {
                    ObjectNode n = arr.addObject();
                    n.put("id", i.experiment().id());
                    n.put("name", i.experiment().name());
                    n.put("dvc_name", i.found().name());
                    n.put("commit", i.found().commit());
                    n.put("baseline", i.found().baseline());
                    n.put("created", i.found().created().toString());
                    n.set("params", JSON.valueToTree(i.experiment().params().flatten()));
                    ObjectNode ms = n.putObject("metrics");
                    i.latest().forEach(ms::put);
                }
                System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
            } else {
                for (DvcImport.Imported i : added) {
                    System.out.println(i.experiment().name() + "\t" + i.experiment().id() + "\t" + i.found().commit().substring(0, 7)
                            + "\t" + i.experiment().params().flatten().size() + " params\t" + i.latest().size() + " metrics");
                }
            }
            if (found == 0) {
                System.err.println("sortie: no DVC experiments in this repository (refs/exps is empty: 'dvc exp run' makes them)");
            } else {
                System.err.println("sortie: imported " + added.size() + " DVC experiment" + (added.size() == 1 ? "" : "s")
                        + (skipped == 0 ? "" : "; " + skipped + " imported before, skipped"));
            }
        }
    }
}
