package dev.sortie.store;

import org.eclipse.jgit.lib.Repository;

import java.util.Locale;
import java.util.regex.Pattern;

/** The names Sortie gives git: refs for experiments and branches, and paths inside snapshot trees. */
final class GitNames {
    static final String EXPERIMENT_REFS = "refs/sortie/experiments/";
    static final String BRANCHES = "refs/heads/";

    private static final Pattern EXPERIMENT_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

    private GitNames() {
    }

    /** {@code refs/sortie/experiments/<id>}; the id must be one ref component of letters, digits, '.', '_', '-'. */
    static String experimentRef(String experimentId) {
        String ref = experimentId == null ? "" : EXPERIMENT_REFS + experimentId;
        if (experimentId == null || !EXPERIMENT_ID.matcher(experimentId).matches() || !Repository.isValidRefName(ref)) {
            throw new IllegalArgumentException("'" + experimentId + "' is not a valid experiment id: use letters, digits,"
                    + " '.', '_' and '-', starting with a letter or digit, no '..' and not ending in '.' or '.lock'");
        }
        return ref;
    }

    /** {@code refs/heads/<name>}, with git's own rules for branch names (as {@code git branch} applies them). */
    static String branchRef(String name) {
        String ref = name == null ? "" : BRANCHES + name;
        if (name == null || name.isEmpty() || name.startsWith("-") || name.equals("HEAD") || name.equals("@")
                || !Repository.isValidRefName(ref)) {
            throw new IllegalArgumentException("'" + name + "' is not a valid branch name: git branch names may use '/'"
                    + " to separate parts, but no part may start with '.' or end with '.lock', and a name may not start"
                    + " with '-', end with '/' or '.', or contain '..', '@{', spaces, control characters or any of ~ ^ : ? * [ \\"
                    + (name == null || name.isBlank() ? "" : "; for example '" + suggestBranch(name) + "'"));
        }
        return ref;
    }

    private static String suggestBranch(String name) {
        String s = Repository.normalizeBranchName(name);
        return s.isEmpty() ? "sortie/my-experiment" : s;
    }

    /**
     * Checks a path for a snapshot override: relative, '/'-separated, no empty, '.' or '..' segment, and not inside
     * {@code .git}. Returns it unchanged.
     */
    static String requireOverridePath(String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.endsWith("/")
                || path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0 || !isSafeTreePath(path)) {
            throw new IllegalArgumentException("'" + path + "' is not a valid snapshot path: it must be relative to the"
                    + " project, '/'-separated, without '.', '..' or empty parts, and not inside .git");
        }
        return path;
    }

    /**
     * True when every segment of a '/'-separated path is a name that is safe to create on disk: not empty, '.', '..'
     * or '.git' (in any case, as some file systems fold it). Trees from a foreign or crafted commit get this check
     * before anything is written.
     */
    static boolean isSafeTreePath(String path) {
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")
                    || segment.toLowerCase(Locale.ROOT).equals(".git") || segment.indexOf('\0') >= 0) {
                return false;
            }
        }
        return true;
    }
}
