package dev.sortie.core.executor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a host needs, besides the blobs of {@link CodeFile}s, to make a work copy a git checkout of the snapshot
 * commit without a git binary: the commit and every tree under it, which travel content-addressed like the blobs, by
 * their git id, raw (without git's header). The commit's parents are not sent: the host's repository is shallow at
 * this commit.
 *
 * @param commit  the snapshot commit (40 or 64 hex digits)
 * @param objects the commit, the root tree and every subtree, each once: git id to the size of its raw content
 */
public record GitCommitObjects(String commit, Map<String, Long> objects) {

    public GitCommitObjects {
        objects = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(objects));
    }

    /**
     * The objects as entries of a code sync (the host's code cache holds contents by id, whatever their type). The
     * paths are never laid out: only the agent's checkout reads these from the cache.
     */
    public List<CodeFile> asCodeFiles() {
        return objects.entrySet().stream().map(e -> new CodeFile(".git/objects/" + e.getKey(), CodeFile.Kind.FILE, e.getKey(), e.getValue())).toList();
    }
}
