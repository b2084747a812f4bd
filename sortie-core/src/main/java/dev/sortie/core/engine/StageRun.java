package dev.sortie.core.engine;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.dvc.DvcPipeline;
import dev.sortie.core.model.CommandSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One stage of a DVC pipeline run as an experiment ({@code sortie run --stage NAME}): the command is
 * {@code dvc repro NAME}, which runs the stage with the stages it depends on as DVC decides (unchanged ones skipped);
 * what comes back to the user's workspace afterwards is {@code dvc.lock}, the outs of those stages and, when the run
 * changed params, the params file, all saved as the experiment's artifacts on whatever executor ran it.
 *
 * @param chain   the stage and the stages it depends on, in the order {@code dvc repro} runs them
 * @param outputs the paths brought back, relative to the project folder
 */
public record StageRun(String stage, List<DvcPipeline.Stage> chain, List<String> outputs) {
    public static final String LOCK_FILE = "dvc.lock";
    private static final com.fasterxml.jackson.databind.ObjectMapper YAML = new com.fasterxml.jackson.databind.ObjectMapper(
            new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());

    public StageRun {
        chain = List.copyOf(chain);
        outputs = List.copyOf(outputs);
    }

    /**
     * The run of {@code stage} of the dvc.yaml in {@code projectDir}; a {@link ConfigException} (exit 2) when there is
     * no dvc.yaml or no such stage, naming the stages there are. {@code paramsFile}: the params file the run changed
     * (brought back too), or null; {@code paramsText}: its text as the run has it, which dvc.yaml's {@code ${...}}
     * read (an out named by a param is the run's out).
     */
    static StageRun of(Path projectDir, String stage, String paramsFile, String paramsText) {
        if (!java.nio.file.Files.isRegularFile(projectDir.resolve(DvcPipeline.FILE_NAME))) {
            throw new ConfigException("--stage " + stage + ": no " + DvcPipeline.FILE_NAME + " in " + projectDir
                    + "; --stage runs a stage of a DVC pipeline (dvc repro " + stage + ")");
        }
        DvcPipeline pipeline = DvcPipeline.read(projectDir.resolve(DvcPipeline.FILE_NAME),
                paramsFile == null || paramsText == null ? java.util.Map.of() : java.util.Map.of(paramsFile, paramsText));
        List<DvcPipeline.Stage> chain = pipeline.upstream(stage);
        Set<String> outputs = new LinkedHashSet<>();
        outputs.add(LOCK_FILE);
        if (paramsFile != null) {
            outputs.add(paramsFile);
        }
        for (DvcPipeline.Stage s : chain) {
            for (DvcPipeline.Out o : s.allOuts()) {
                outputs.add(s.resolve(o.path()));
            }
        }
        return new StageRun(stage, chain, new ArrayList<>(outputs));
    }

    /**
     * Checks, before a stage goes to a host, that the DVC files the host's DVC will read for it are YAML: dvc.lock and
     * the {@code .dvc} files of the data the stage and those it depends on read. The data itself reaches the host
     * through the project's DVC cache there (the executor sends what the snapshot's DVC files name, once per host); a
     * file that is not YAML would only fail there, later and less clearly, so it fails the launch here, naming the
     * file and the line.
     */
    static void checkInputs(Path projectDir, String stage) throws IOException {
        DvcPipeline pipeline = DvcPipeline.read(projectDir.resolve(DvcPipeline.FILE_NAME));
        Path lock = projectDir.resolve(LOCK_FILE);
        if (Files.isRegularFile(lock)) {
            readYaml(lock);
        }
        for (DvcPipeline.Stage s : pipeline.upstream(stage)) {
            for (String dep : s.deps()) {
                for (Path p = Path.of(s.resolve(dep)); p != null; p = p.getParent()) {
                    Path dvcFile = projectDir.resolve(p + ".dvc");
                    if (Files.isRegularFile(dvcFile)) {
                        readYaml(dvcFile);
                    }
                }
            }
        }
    }

    /** A DVC YAML file (dvc.lock, a .dvc file); one that is not YAML is an error naming it and where. */
    private static void readYaml(Path file) throws IOException {
        try {
            YAML.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            String why = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().lines().findFirst().orElse("");
            throw new IOException(file + (at == null ? "" : ":" + at.getLineNr()) + ": not YAML DVC could read (" + why
                    + "); DVC on the host reads it: fix it or run 'dvc repro' here", e);
        }
    }

    /** {@code dvc repro STAGE}, run by the shell so that {@code dvc} is found on the run's own PATH (sortie.yaml's env). */
    CommandSpec command() {
        return CommandSpec.shell("dvc repro " + "'" + stage.replace("'", "'\\''") + "'");
    }
}
