package dev.sortie.agent;

import dev.sortie.core.dvc.DvcPlot;
import dev.sortie.core.dvc.DvcPlots;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * DVC's plots of a run (see {@link DvcPlots}): the plot files the run wrote or changed are kept with the experiment,
 * with a manifest ({@link DvcPlots#MANIFEST}, at the work folder's root) that says how to draw each (template, x,
 * y). A plot file that was there before the run, unchanged (committed with the code), is not the run's own.
 */
final class DvcPlotFiles {
    private static final System.Logger LOG = System.getLogger(DvcPlotFiles.class.getName());
    private final Path root;
    private final Path cwd;
    /** The plot files there before the run, as they were; null: not known (a salvaged run), every file counts. */
    private final Map<String, String> before;

    private DvcPlotFiles(Path root, Path cwd, Map<String, String> before) {
        this.root = root.toAbsolutePath().normalize();
        this.cwd = cwd.toAbsolutePath().normalize();
        this.before = before;
    }

    /** For a run about to start: notes the plot files already there. */
    static DvcPlotFiles beforeTheRun(Path root, Path cwd) {
        Map<String, String> seen = new HashMap<>();
        List<String> candidates = new ArrayList<>();
        try {
            DvcPlots.declared(cwd).forEach(p -> candidates.add(p.path()));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "the plots declared in {0} are not known before the run: {1}", cwd, e);
        }
        Path live = cwd.resolve("dvclive");
        if (Files.isDirectory(live)) {
            try (Stream<Path> walk = Files.walk(live)) {
                walk.filter(Files::isRegularFile).forEach(f -> candidates.add(cwd.relativize(f).toString().replace('\\', '/')));
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "{0} not listed: {1}", live, e);
            }
        }
        for (String c : candidates) {
            String s = stamp(cwd.resolve(c));
            if (s != null) {
                seen.put(c, s);
            }
        }
        return new DvcPlotFiles(root, cwd, seen);
    }

    /** For what a run left after its watcher died: what was there before is not known, every plot file counts. */
    static DvcPlotFiles afterTheRun(Path root, Path cwd) {
        return new DvcPlotFiles(root, cwd, null);
    }

    /**
     * Writes the manifest of the plots the run wrote or changed and returns what to save (those files and the
     * manifest, relative to the root); nothing when the run wrote no plot.
     */
    List<String> record() {
        if (!Files.isDirectory(cwd)) {
            return List.of();
        }
        try {
            return write();
        } catch (IOException | RuntimeException e) {
            // the run's result stands without its plots: said, not turned into a failure
            LOG.log(System.Logger.Level.WARNING, "the DVC plots of the run in " + cwd + " are not kept", e);
            return List.of();
        }
    }

    private List<String> write() throws IOException {
        String rel = root.relativize(cwd).toString().replace('\\', '/');
        String prefix = rel.isEmpty() ? "" : rel + "/";
        List<DvcPlot> kept = new ArrayList<>();
        List<String> files = new ArrayList<>();
        for (DvcPlot p : DvcPlots.declared(cwd)) {
            String now = stamp(cwd.resolve(p.path()));
            if (now == null || (before != null && now.equals(before.get(p.path())))) {
                continue;
            }
            String path = Path.of(prefix + p.path()).normalize().toString().replace('\\', '/');
            kept.add(new DvcPlot(path, p.template(), p.x(), p.y(), p.title().equals(p.path()) ? path : p.title()));
            if (!files.contains(path)) {
                files.add(path);
            }
        }
        if (kept.isEmpty()) {
            return List.of();
        }
        Path manifest = root.resolve(DvcPlots.MANIFEST);
        Files.createDirectories(manifest.getParent());
        Files.writeString(manifest, DvcPlots.manifest(kept), StandardCharsets.UTF_8);
        files.add(DvcPlots.MANIFEST);
        return files;
    }

    /** A file's size and digest (a rewrite within the clock's tick still differs); null when it is not a file. */
    private static String stamp(Path f) {
        try {
            if (!Files.isRegularFile(f)) {
                return null;
            }
            byte[] d = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f));
            return Files.size(f) + ":" + HexFormat.of().formatHex(d);
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
