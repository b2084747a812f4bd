package dev.sortie.core.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Records the exact code an experiment runs and gives it back. A snapshot holds the workspace as it is on disk,
 * committed and uncommitted changes and untracked files alike, minus what .gitignore and .sortieignore exclude
 * and minus {@code .git/} and {@code .sortie/}. It never touches the user's branches, HEAD or index.
 */
public interface CodeSnapshots {

    /**
     * Snapshots {@code projectDir} for experiment {@code experimentId}, with {@code overrides} (path relative to
     * the project, '/'-separated, to new content) replacing or adding files in the snapshot only: that is how
     * the experiment's params file lands in its snapshot without changing the user's workspace.
     */
    CodeSnapshot snapshot(String experimentId, Map<String, byte[]> overrides, String message) throws IOException;

    /**
     * Snapshots the workspace once for several experiments that differ only in their overrides (a grid of
     * params): one scan of the work tree, one commit and ref per request, in request order.
     */
    default List<CodeSnapshot> snapshotAll(List<Request> requests) throws IOException {
        List<CodeSnapshot> out = new ArrayList<>(requests.size());
        for (Request r : requests) {
            out.add(snapshot(r.experimentId(), r.overrides(), r.message()));
        }
        return out;
    }

    /** One experiment's part of {@link #snapshotAll}. */
    record Request(String experimentId, Map<String, byte[]> overrides, String message) {
    }

    /** Writes the files of a snapshot into an empty or missing folder {@code target}, with their exec bits. */
    void materialize(String snapshotCommit, Path target) throws IOException;

    /** The files of a snapshot as {@link #materialize} lays them out: path, kind, git blob id, size; gitlinks left out. */
    List<dev.sortie.core.executor.CodeFile> files(String snapshotCommit) throws IOException;

    /** The bytes of a blob named by one of {@link #files}, or of an object {@link #gitCommit} names (raw, no header). */
    java.io.InputStream openBlob(String blobId) throws IOException;

    /**
     * The commit and trees a host needs, besides the files' blobs, to make {@link #files} a git checkout of the
     * snapshot commit; null where the work copy is not the snapshot's whole tree (no checkout is made then).
     */
    default dev.sortie.core.executor.GitCommitObjects gitCommit(String snapshotCommit) throws IOException {
        return null;
    }

    /**
     * Puts a snapshot's files into the workspace (like {@code git checkout COMMIT -- .}), leaving HEAD and the
     * branch where they are, so the result shows as uncommitted changes. Files absent from the snapshot stay.
     */
    void apply(String snapshotCommit) throws IOException;

    /**
     * Writes the unified diff (as {@code git diff A B} prints it, paths relative to the project) from snapshot
     * {@code fromCommit} to snapshot {@code toCommit} to {@code out}; nothing when their files are the same.
     */
    void diff(String fromCommit, String toCommit, java.io.OutputStream out) throws IOException;

    /** Creates branch {@code name} at the snapshot commit; fails if the branch exists. */
    void branch(String snapshotCommit, String name) throws IOException;

    /** Drops the ref that keeps an experiment's snapshot alive (its objects go with the next git gc). */
    void release(String experimentId) throws IOException;
}
