package dev.sortie.store;

import org.eclipse.jgit.ignore.IgnoreNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code .sortieignore} files met on the way down a tree walk, one level per folder. They use .gitignore's syntax
 * and rules: a file's rules apply below its folder, a deeper file overrides a shallower one, the last matching line
 * of a file wins, and '!' re-includes. Unlike .gitignore they also drop tracked files: they say what an experiment
 * does not need, whatever git keeps.
 */
final class SortieIgnore {
    static final String FILE_NAME = ".sortieignore";

    /** One folder on the current path: its path with a trailing '/' ("" for the root) and its rules, if any. */
    private record Level(String dirPrefix, IgnoreNode rules) {
    }

    private final Path root;
    private final List<Level> levels = new ArrayList<>();

    SortieIgnore(Path root) throws IOException {
        this.root = root;
        levels.add(new Level("", load(root.resolve(FILE_NAME))));
    }

    /**
     * Keeps the levels for an entry at {@code depth} (0 for entries of the root folder): the root plus {@code depth}
     * folders above it.
     */
    void truncateTo(int depth) {
        while (levels.size() > depth + 1) {
            levels.remove(levels.size() - 1);
        }
    }

    /** Called when the walk enters folder {@code dirPath} ('/'-separated, relative to the root). */
    void enter(String dirPath) throws IOException {
        levels.add(new Level(dirPath + "/", load(root.resolve(dirPath).resolve(FILE_NAME))));
    }

    /** Whether {@code path} (relative to the root) is excluded by the folders entered so far. */
    boolean isIgnored(String path, boolean isDirectory) {
        for (int i = levels.size() - 1; i >= 0; i--) {
            Level level = levels.get(i);
            if (level.rules() == null || !path.startsWith(level.dirPrefix())) {
                continue;
            }
            Boolean match = level.rules().checkIgnored(path.substring(level.dirPrefix().length()), isDirectory);
            if (match != null) {
                return match;
            }
        }
        return false;
    }

    private static IgnoreNode load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        IgnoreNode node = new IgnoreNode();
        try (InputStream in = Files.newInputStream(file)) {
            node.parse(file.toString(), in);
        } catch (NoSuchFileException vanished) {
            return null;
        }
        return node.getRules().isEmpty() ? null : node;
    }
}
