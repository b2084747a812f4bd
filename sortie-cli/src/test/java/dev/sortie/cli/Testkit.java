package dev.sortie.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Files under the repository's {@code testkit/} that tests and the benchmarks under {@code bench/} share (one copy of
 * a training script or a project, so a benchmark measures what the tests check).
 */
final class Testkit {
    private Testkit() {
    }

    /** The folder {@code testkit/PATH} (Maven runs the tests in the module's folder, {@code basedir}). */
    static Path path(String path) {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent().resolve("testkit").resolve(path);
    }

    /** The text of {@code testkit/PATH}. */
    static String read(String path) {
        Path file = path(path);
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
