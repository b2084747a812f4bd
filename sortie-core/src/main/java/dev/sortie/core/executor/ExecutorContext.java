package dev.sortie.core.executor;

import dev.sortie.core.store.BlobStore;
import java.nio.file.Path;

/** What an executor gets from the project it serves: where the project is and the store artifacts go to. */
public record ExecutorContext(Path projectDir, Path stateDir, BlobStore store) {
}
