package dev.sortie.cli;

import dev.sortie.core.engine.ProjectPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Creates a project's {@code .sortie/} with a .gitignore that keeps machine-local state out of git but lets config.yaml in. */
final class StateDir {
    static final String GITIGNORE = """
            # Sortie's machine-local state; config.yaml (the project's executors) is meant to be committed.
            ledger.db*
            store/
            runs/
            code.git/
            *.lock
            logs/
            """;

    private StateDir() {
    }

    /** Returns true if it created the folder. */
    static boolean ensure(ProjectPaths paths) throws IOException {
        Path dir = paths.stateDir();
        boolean created = !Files.isDirectory(dir);
        Files.createDirectories(dir);
        Path ignore = dir.resolve(".gitignore");
        if (!Files.exists(ignore)) {
            Files.writeString(ignore, GITIGNORE, StandardCharsets.UTF_8);
        }
        return created;
    }
}
