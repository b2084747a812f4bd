package dev.sortie.cli.commands;

import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.engine.ProjectPaths;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;

@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Make this folder a Sortie project: sortie.yaml (if missing) and .sortie/ (ledger, store, runs, config).")
public final class InitCommand extends ContextCommand {
    static final String TEMPLATE = """
            # Sortie task: what to run. Where to run it is chosen with -e (executors live in .sortie/config.yaml).
            name: %s
            # workdir: .                 # copied for each experiment; .gitignore and .sortieignore are respected
            # setup: pip install -r requirements.txt
            run: python3 train.py --lr ${lr} --epochs ${epochs}
            params:                      # or: params: params.yaml (DVC's file); override with -S lr=0.1
              lr: 0.01
              epochs: 10
            # checkpoints: checkpoints/  # saved while running, restored when an interrupted run resumes
            # artifacts: [model.pt]      # saved when the run ends
            # metrics: [dvclive/metrics.json]   # besides 'loss=0.3 step=5' lines and JSON lines on stdout
            # timeout: 2h
            """;
    static final String CONFIG = """
            # Executors of this project (committed with it). 'local' always exists.
            # executors:
            #   gpu1: {type: ssh, host: gpu1.example.com}
            executors: {}
            """;

    @Override
    public Integer call() throws Exception {
        Path dir = context().workingDir();
        ProjectPaths paths = new ProjectPaths(dir);
        Path yaml = dir.resolve(TaskConfigLoader.FILE_NAME);
        if (Files.exists(yaml)) {
            err().println("sortie: " + yaml + " exists, left as it is");
        } else {
            String name = dir.getFileName() == null ? "experiment" : dir.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "-");
            if (name.isEmpty() || !Character.isLetterOrDigit(name.charAt(0))) {
                name = "experiment";
            }
            DvcInitTemplate dvc = DvcInitTemplate.of(dir);
            if (dvc != null) {
                Files.writeString(yaml, dvc.yaml(name), StandardCharsets.UTF_8);
                err().println("sortie: created " + yaml + " for the DVC pipeline in dvc.yaml (" + dvc.summary() + ")");
            } else {
                Files.writeString(yaml, TEMPLATE.formatted(name), StandardCharsets.UTF_8);
                err().println("sortie: created " + yaml + " (edit 'run:' and 'params:')");
            }
        }
        Files.createDirectories(paths.stateDir());
        if (!Files.exists(paths.configFile())) {
            Files.writeString(paths.configFile(), CONFIG, StandardCharsets.UTF_8);
        }
        // Opening the ledger creates it and its schema, so the first run does not pay for it.
        context().ledger();
        err().println("sortie: project ready in " + paths.stateDir() + " (ledger, store and runs stay out of git)");
        return 0;
    }
}
