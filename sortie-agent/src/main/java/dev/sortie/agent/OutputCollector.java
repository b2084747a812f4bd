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
import java.util.stream.Stream;

/**
 * Saves the files a run declares (checkpoints, artifacts) from its work folder into the store. Remembers what
 * it saved by size and modification time, so saving checkpoints every few seconds only uploads what changed.
 * Paths are relative to the work folder; nothing outside it is followed.
 */
public final class OutputCollector {
    private final Path workdir;
    private final BlobStore store;
    private final Map<String, Long[]> seen = new HashMap<>();

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
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        String key = kind + ":" + rel;
        Long[] stamp = {a.size(), a.lastModifiedTime().toMillis()};
        Long[] before = seen.get(key);
        if (before != null && before[0].equals(stamp[0]) && before[1].equals(stamp[1])) {
            return null;
        }
        String hash;
        try {
            hash = store.put(f);
        } catch (NoSuchFileException e) {
            return null;
        }
        seen.put(key, stamp);
        return new ArtifactRecord(kind, rel, hash, a.size(), Instant.now());
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
