package dev.sortie.agent;

import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Saves the files a run declares (checkpoints, artifacts) from its work folder into the store. Remembers what
 * it saved by size and modification time, so saving checkpoints every few seconds only uploads what changed.
 * Paths are relative to the work folder; nothing outside it is followed.
 */
public final class OutputCollector {
    private static final System.Logger LOG = System.getLogger(OutputCollector.class.getName());
    private static final int STABLE_COPY_TRIES = 3;

    private final Path workdir;
    private final BlobStore store;
    private final Map<String, Stamp> seen = new HashMap<>();

    public OutputCollector(Path workdir, BlobStore store) {
        this.workdir = workdir.toAbsolutePath().normalize();
        this.store = store;
    }

    /** Saves every changed regular file under the given paths; returns the records of what was saved now. */
    public List<ArtifactRecord> save(ArtifactKind kind, List<String> paths) throws IOException {
        List<ArtifactRecord> out = new ArrayList<>();
        for (String rel : paths) {
            Path root = workdir.resolve(rel).normalize();
            if (!root.startsWith(workdir) || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            List<Path> files;
            if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                try (Stream<Path> walk = Files.walk(root)) {
                    files = walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
                } catch (UncheckedIOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "outputs under {0} not saved this time, the folder could not be walked: {1}", root, e);
                    files = List.of();
                }
            } else {
                files = Files.isRegularFile(root, LinkOption.NOFOLLOW_LINKS) ? List.of(root) : List.of();
            }
            for (Path f : files) {
                ArtifactRecord r = saveFile(kind, f);
                if (r != null) {
                    out.add(r);
                }
            }
        }
        return out;
    }

    private ArtifactRecord saveFile(ArtifactKind kind, Path f) throws IOException {
        String rel = workdir.relativize(f).toString().replace('\\', '/');
        String key = kind + ":" + rel;
        // A run writes its checkpoints while they are saved. A copy counts only if the file was the same file, of
        // the same size and time, before and after it: otherwise it may be torn (torch.save half done, or a file
        // truncated by open('w') and not written yet) and recording it could resume a run from garbage. Such a
        // copy is tried again at once a few times, then left for the next round (the end of the run saves again).
        for (int attempt = 0; attempt < STABLE_COPY_TRIES; attempt++) {
            Stamp before = Stamp.of(f);
            if (before == null) {
                return null;
            }
            if (before.equals(seen.get(key))) {
                return null;
            }
            String hash;
            try {
                hash = store.put(f);
            } catch (NoSuchFileException e) {
                return null;
            }
            if (before.equals(Stamp.of(f))) {
                seen.put(key, before);
                return new ArtifactRecord(kind, rel, hash, before.size(), Instant.now());
            }
        }
        return null;
    }

    /** What tells one state of a file from another without reading it: which file, its size and its time. */
    private record Stamp(Object fileKey, long size, long modifiedNanos) {
        static Stamp of(Path f) throws IOException {
            try {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                return new Stamp(a.fileKey(), a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS));
            } catch (NoSuchFileException e) {
                return null;
            }
        }
    }

    /**
     * Saves a path an SDK asked to keep: absolute, or relative to {@code cwd}; only inside the work folder (a run
     * cannot make Sortie read files elsewhere on the machine). Returns what was saved, empty if nothing.
     */
    public List<ArtifactRecord> saveRequested(ArtifactKind kind, String path, Path cwd) throws IOException {
        Path p = cwd.resolve(path).toAbsolutePath().normalize();
        if (!p.startsWith(workdir)) {
            return List.of();
        }
        return save(kind, List.of(workdir.relativize(p).toString().replace('\\', '/')));
    }

    /** Puts saved files back into the work folder (a resumed run gets its checkpoints). */
    public void restore(List<ArtifactRecord> records) throws IOException {
        for (ArtifactRecord r : records) {
            Path target = workdir.resolve(r.path()).normalize();
            if (!target.startsWith(workdir)) {
                throw new IOException("refusing to restore '" + r.path() + "' outside the work folder");
            }
            store.get(r.hash(), target);
        }
    }
}
