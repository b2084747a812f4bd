package dev.sortie.core.model;

import java.time.Instant;

/** A file an experiment produced, saved in the store under its content hash. {@code path} is relative to the run's workdir, with '/' separators. */
public record ArtifactRecord(ArtifactKind kind, String path, String hash, long size, Instant savedAt) {
}
