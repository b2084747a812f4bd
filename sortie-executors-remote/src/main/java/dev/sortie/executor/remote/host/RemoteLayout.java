package dev.sortie.executor.remote.host;

/**
 * Where Sortie keeps its things on a host, under the executor's {@code remote_dir} (default {@code ~/.sortie}),
 * resolved to an absolute path once per connection:
 *
 * <pre>
 *   agent/&lt;sha256&gt;.jar        the agent's classpath, each jar named by the SHA-256 of its bytes (uploaded once per version)
 *   cache/code/&lt;git blob id&gt;  code blobs, the node-local cache shared by every experiment on the host
 *   cache/trees/&lt;id&gt;         marker: every blob of that file list is in cache/code (a warm host answers in one stat)
 *   store/objects/ab/cdef..   checkpoints and artifacts by SHA-256 (the same layout as the local store)
 *   runs/&lt;experiment id&gt;/    run-N.json (what to run), journal-N.jsonl (what it reported), logs/, work/
 *   slots/&lt;n&gt;.lock          held by the agent of the run in slot n
 *   spare/w-&lt;token&gt;/        finished runs' work folders, the next runs start from (a few at most)
 * </pre>
 *
 * @param root the absolute remote_dir, without a trailing slash
 */
public record RemoteLayout(String root) {
    /** The remote_dir of an executor that names none; {@code ~} is the remote user's home. */
    public static final String DEFAULT_ROOT = "~/.sortie";

    public String agentDir() {
        return root + "/agent";
    }

    public String codeCache() {
        return root + "/cache/code";
    }

    public String treeMarkers() {
        return root + "/cache/trees";
    }

    public String store() {
        return root + "/store";
    }

    public String runDir(String experimentId) {
        return root + "/runs/" + experimentId;
    }

    public String slots() {
        return root + "/slots";
    }

    /** Finished runs' work folders (kept by the agent's WorkFolderReuse): a cache, freed first when the disk is full. */
    public String spare() {
        return root + "/spare";
    }
}
