package dev.sortie.core.executor;

import java.io.IOException;
import java.nio.file.Path;

/** The code of an experiment, able to write itself into a folder (local executors) or to be synced (remote ones). */
public interface CodeSource {

    /** The snapshot commit this code is. */
    String commit();

    /** Writes the code's files into {@code target}. */
    void materialize(Path target) throws IOException;
}
