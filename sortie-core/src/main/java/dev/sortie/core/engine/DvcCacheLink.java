package dev.sortie.core.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Points a local run's work copy of a DVC project at the user's DVC cache: the {@code .dvc/config.local} it gets
 * names the cache folder the user's DVC uses (its {@code cache.dir}, or {@code .dvc/cache}), as an absolute path,
 * and keeps the user's local {@code cache.type}. So {@code dvc checkout} and {@code dvc repro} in the work copy link
 * data from that cache as the user's DVC would (never copied unless {@code cache.type} says copy) and skip stages the
 * cache and its run-cache already hold; what the run computes lands in the same cache. Only for runs on this machine:
 * a remote host does not have that folder.
 */
public record DvcCacheLink(Path cacheDir, String cacheType) {
    private static final System.Logger LOG = System.getLogger(DvcCacheLink.class.getName());
    /** The work copy's DVC config that is never committed (DVC's own .dvc/.gitignore lists it). */
    public static final String LOCAL_CONFIG = ".dvc/config.local";

    /** The link for the DVC project in {@code projectDir}, or empty when it is not one. */
    public static Optional<DvcCacheLink> of(Path projectDir) {
        Path dvcDir = projectDir.resolve(".dvc");
        if (!Files.isDirectory(dvcDir)) {
            return Optional.empty();
        }
        // later files win, as in DVC: the repository's config, then the local one
        Map<String, String> cache = new LinkedHashMap<>();
        for (String name : List.of("config", "config.local")) {
            Path file = dvcDir.resolve(name);
            if (Files.isRegularFile(file)) {
                try {
                    cache.putAll(section(Files.readAllLines(file, StandardCharsets.UTF_8), "cache"));
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "DVC config {0} could not be read ({1}); the run uses DVC''s default cache there", file, e);
                }
            }
        }
        String dir = cache.get("dir");
        // a relative cache.dir is relative to the folder of the config file, .dvc/
        Path cacheDir = dir == null ? dvcDir.resolve("cache") : dvcDir.resolve(dir);
        return Optional.of(new DvcCacheLink(cacheDir.toAbsolutePath().normalize(), cache.get("type")));
    }

    /** The work copy's {@code .dvc/config.local}. */
    byte[] localConfig() {
        StringBuilder s = new StringBuilder("# written by sortie: this run uses the project's DVC cache\n[cache]\n");
        s.append("    dir = ").append(cacheDir).append('\n');
        if (cacheType != null) {
            s.append("    type = ").append(cacheType).append('\n');
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The {@code key = value} pairs of one {@code [section]} of a DVC (configobj) file. */
    static Map<String, String> section(List<String> lines, String name) {
        Map<String, String> out = new LinkedHashMap<>();
        boolean in = false;
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[")) {
                in = line.equals("[" + name + "]") || line.replace(" ", "").equals("['" + name + "']");
                continue;
            }
            int eq = line.indexOf('=');
            if (in && eq > 0) {
                String value = line.substring(eq + 1).strip();
                if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"") || value.startsWith("'") && value.endsWith("'"))) {
                    value = value.substring(1, value.length() - 1);
                }
                out.put(line.substring(0, eq).strip(), value);
            }
        }
        return out;
    }
}
