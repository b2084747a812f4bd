package dev.sortie.core.store;

import dev.sortie.core.model.CodeRef;

/** The result of snapshotting a workspace: where the code is kept and how many files it holds. */
public record CodeSnapshot(CodeRef ref, int files, long bytes) {
}
