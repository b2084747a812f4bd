package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.executor.CodeFile;
import dev.sortie.core.model.ArtifactRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the agent on a host runs: one attempt of an experiment, written by the launching side as
 * {@code runs/<id>/run-<attempt>.json} next to the run's journal. The code is named blob by blob (each in the
 * host's code cache), the params file and checkpoints to restore travel by content too.
 *
 * @param task        the experiment's recorded task (TaskSource JSON): metric sources, outputs, timeout
 * @param params      the experiment's params (a JSON object)
 * @param command     the command's argv (a shell line arrives as {@code sh -c LINE})
 * @param files       the code, laid out from the host's code cache
 * @param extraFiles  files written after the code (the params file), by relative path
 * @param restore     checkpoints in the host's store to put back before the command starts
 * @param root        the host's Sortie folder (see the ssh executor's RemoteLayout)
 * @param store       the project's store for the node to read and write itself ({@code {"url": "s3://..", "options":
 *                    {..}}}, no credential in it; see {@link NodeStore}), or null: the host's own store, which the
 *                    launching side fills and empties
 * @param gitCommit   the snapshot commit whose commit and tree objects are in the host's code cache besides the
 *                    blobs: the work folder is made a git checkout of it ({@link GitCheckout}); null: plain files
 */
public record AgentRun(String experimentId, String experimentName, int attempt, String task, JsonNode params,
                       List<String> command, Map<String, String> environment, List<CodeFile> files,
                       Map<String, byte[]> extraFiles, List<ArtifactRecord> restore, String root, JsonNode store,
                       String gitCommit) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public AgentRun {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        files = List.copyOf(files);
        extraFiles = Map.copyOf(extraFiles);
        restore = List.copyOf(restore);
        store = store == null || store.isNull() || store.isMissingNode() ? null : store;
        gitCommit = gitCommit == null || gitCommit.isEmpty() ? null : gitCommit;
    }

    /** A run of plain files (no git checkout). */
    public AgentRun(String experimentId, String experimentName, int attempt, String task, JsonNode params,
                    List<String> command, Map<String, String> environment, List<CodeFile> files,
                    Map<String, byte[]> extraFiles, List<ArtifactRecord> restore, String root, JsonNode store) {
        this(experimentId, experimentName, attempt, task, params, command, environment, files, extraFiles, restore, root, store, null);
    }

    /** A run whose outputs stay in the host's own store (the launching side moves them). */
    public AgentRun(String experimentId, String experimentName, int attempt, String task, JsonNode params,
                    List<String> command, Map<String, String> environment, List<CodeFile> files,
                    Map<String, byte[]> extraFiles, List<ArtifactRecord> restore, String root) {
        this(experimentId, experimentName, attempt, task, params, command, environment, files, extraFiles, restore, root, null, null);
    }

    public byte[] toJson() throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("version", 1).put("experiment_id", experimentId).put("experiment_name", experimentName).put("attempt", attempt)
                .put("task", task).put("root", root);
        n.set("params", params);
        ArrayNode cmd = n.putArray("command");
        command.forEach(cmd::add);
        ObjectNode env = n.putObject("environment");
        environment.forEach(env::put);
        ArrayNode fs = n.putArray("files");
        for (CodeFile f : files) {
            fs.addArray().add(f.path()).add(f.kind().name().toLowerCase(Locale.ROOT)).add(f.blobId()).add(f.size());
        }
        ObjectNode extra = n.putObject("extra_files");
        extraFiles.forEach((k, v) -> extra.put(k, Base64.getEncoder().encodeToString(v)));
        ArtifactJson.write(n.putArray("restore"), restore);
        if (store != null) {
            n.set("store", store);
        }
        if (gitCommit != null) {
            n.put("git_commit", gitCommit);
        }
        return JSON.writeValueAsBytes(n);
    }

    public static AgentRun fromJson(byte[] bytes) throws IOException {
        JsonNode n = JSON.readTree(bytes);
        if (n == null || n.path("version").asInt() != 1) {
            throw new IOException("not a run file this agent understands (version " + (n == null ? "?" : n.path("version")) + ")");
        }
        List<String> command = new ArrayList<>();
        n.path("command").forEach(c -> command.add(c.asText()));
        Map<String, String> env = new LinkedHashMap<>();
        n.path("environment").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        List<CodeFile> files = new ArrayList<>();
        for (JsonNode f : n.path("files")) {
            files.add(new CodeFile(f.path(0).asText(), CodeFile.Kind.valueOf(f.path(1).asText().toUpperCase(Locale.ROOT)),
                    f.path(2).asText(), f.path(3).asLong()));
        }
        Map<String, byte[]> extra = new LinkedHashMap<>();
        n.path("extra_files").fields().forEachRemaining(e -> extra.put(e.getKey(), Base64.getDecoder().decode(e.getValue().asText())));
        return new AgentRun(n.path("experiment_id").asText(), n.path("experiment_name").asText(), n.path("attempt").asInt(),
                n.path("task").asText(), n.path("params"), command, env, files, extra, ArtifactJson.read(n.path("restore")),
                n.path("root").asText(), n.get("store"), n.path("git_commit").asText(null));
    }
}
