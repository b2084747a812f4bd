package dev.sortie.agent;

import dev.sortie.core.dvc.DvcPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a run of a DVC pipeline keeps with the experiment, as {@code dvc exp} keeps it: {@code dvc.lock} (the hash of
 * every out, whose contents are in the DVC cache) and the outs DVC does not cache ({@code cache: false}: metrics and
 * plots files), which no {@code dvc checkout} could bring back. {@code sortie apply} restores them, then checks the
 * cached outs out, so {@code dvc status} is clean afterwards.
 */
final class DvcResults {
    private static final System.Logger LOG = System.getLogger(DvcResults.class.getName());

    private DvcResults() {
    }

    /**
     * The paths (relative to {@code cwd}) to save at a run's end; empty where {@code cwd} has no {@code dvc.yaml}. The
     * outs are those of core's {@link DvcPipeline}, which reads dvc.yaml as runs and {@code --stage} read it (a
     * stage's {@code wdir}, {@code foreach} stages).
     */
    static List<String> paths(Path cwd) {
        Path dvcYaml = cwd.resolve(DvcPipeline.FILE_NAME);
        if (!Files.isRegularFile(dvcYaml)) {
            return List.of();
        }
        Set<String> out = new LinkedHashSet<>();
        out.add("dvc.lock");
        try {
            for (DvcPipeline.Stage stage : DvcPipeline.read(dvcYaml).stages().values()) {
                for (DvcPipeline.Out o : stage.allOuts()) {
                    if (!o.cache()) { // DvcPipeline has filled in DVC's ${...}: a '${' left is a file's own name
                        out.add(stage.resolve(o.path()).replace('\\', '/'));
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "{0} could not be read ({1}); only dvc.lock is kept with the experiment", dvcYaml, e.getMessage());
        }
        return new ArrayList<>(out);
    }
}
