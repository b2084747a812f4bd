package dev.sortie.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The repository's real launcher ({@code ./sortie}) laid out as it expects (ROOT/sortie,
 * ROOT/sortie-cli/target/dist/lib) with this test run's class path as the distribution's jars. Tests that must go
 * through the launcher use this rather than the repository's own distribution, which Maven assembles only after
 * the tests have run (on a clean clone it does not exist yet; on a working copy it may be stale).
 */
final class TestLauncher {
    private TestLauncher() {
    }

    /** Lays the launcher out under {@code root} and returns the script's path. */
    static Path layOut(Path root) throws IOException {
        Path repo = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
        Path launcher = root.resolve("sortie");
        Files.copy(repo.resolve("sortie"), launcher);
        launcher.toFile().setExecutable(true);
        Path lib = Files.createDirectories(root.resolve("sortie-cli/target/dist/lib"));
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        int n = 0;
        for (String entry : cp.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isRegularFile(p) && entry.endsWith(".jar")) {
                Files.createSymbolicLink(lib.resolve(n++ + "-" + p.getFileName()), p.toAbsolutePath());
            } else if (Files.isDirectory(p)) {
                jar(p, lib.resolve(n++ + "-classes.jar"));
            }
        }
        return launcher;
    }

    private static void jar(Path dir, Path jar) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(dir.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }
}
