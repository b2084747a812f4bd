package dev.sortie.core.model;

/**
 * The code an experiment ran: the commit the workspace was on ({@code baseCommit}, null outside git or
 * before the first commit) and the snapshot commit holding the exact tree, uncommitted and untracked
 * changes included, kept alive by {@code ref}.
 */
public record CodeRef(String baseCommit, String snapshotCommit, String ref, boolean dirty) {
}
