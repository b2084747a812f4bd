package dev.sortie.core.executor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/** The code of an experiment, able to write itself into a folder (local executors) or to be synced (remote ones). */
public interface CodeSource {

    /** The snapshot commit this code is. */
    String commit();

    /** Writes the code's files into {@code target}. */
    void materialize(Path target) throws IOException;

    /** The code's files, laid out as {@link #materialize} would write them, for executors that sync them by content. */
    List<CodeFile> files() throws IOException;

    /** The bytes of one of {@link #files()}' blobs, or of one of {@link #gitCommit()}'s objects (raw, no header). */
    InputStream open(String blobId) throws IOException;

    /**
     * The commit and trees that make the files a git checkout of {@link #commit()} on a host, or null where the work
     * copy is not one (a project in a subfolder of its repository: the snapshot's tree is the repository's).
     */
    default GitCommitObjects gitCommit() throws IOException {
        return null;
    }
}
