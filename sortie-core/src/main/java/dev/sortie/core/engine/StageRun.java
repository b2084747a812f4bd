package dev.sortie.core.engine;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.dvc.DvcPipeline;
import dev.sortie.core.model.CommandSpec;
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

    public StageRun {
        chain = List.copyOf(chain);
        outputs = List.copyOf(outputs);
    }

    /**
     * The run of {@code stage} of the dvc.yaml in {@code projectDir}; a {@link ConfigException} (exit 2) when there is
     * no dvc.yaml or no such stage, naming the stages there are. {@code paramsFile}: the params file the run changed
     * (brought back too), or null.
     */
    static StageRun of(Path projectDir, String stage, String paramsFile) {
        DvcPipeline pipeline = DvcPipeline.find(projectDir).orElseThrow(() -> new ConfigException("--stage " + stage + ": no "
                + DvcPipeline.FILE_NAME + " in " + projectDir + "; --stage runs a stage of a DVC pipeline (dvc repro " + stage + ")"));
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

    /** {@code dvc repro STAGE}, run by the shell so that {@code dvc} is found on the run's own PATH (sortie.yaml's env). */
    CommandSpec command() {
        return CommandSpec.shell("dvc repro " + "'" + stage.replace("'", "'\\''") + "'");
    }
}
