package dev.sortie.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.dvc.DvcPipeline;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One stage of a DVC pipeline run as an experiment ({@code sortie run --stage NAME}): the command is
 * {@code dvc repro NAME}, which runs the stage with the stages it depends on as DVC decides (unchanged ones skipped);
 * what comes back to the user's workspace afterwards is {@code dvc.lock}, the outs of those stages and, when the run
 * changed params, the params file, all saved as the experiment's artifacts on whatever executor ran it.
 *
 * @param chain   the stage and the stages it depends on, in the order {@code dvc repro} runs them
 * @param outputs the paths brought back, relative to the project folder
 */
public record StageRun(String stage, List<DvcPipeline.Stage> chain, List<String> outputs) {
    public static final String LOCK_FILE = "dvc.lock";
    /**
     * The {@code .dvc/config.local} of a stage's work copy on a host: that copy has no git repository of its own
     * (yet), and DVC refuses to run outside one unless told {@code core.no_scm}.
     */
    static final byte[] HOST_DVC_CONFIG = ("# written by sortie: the work copy on this host is not a git repository, and has its own cache\n"
            + "[core]\n    no_scm = true\n[cache]\n    dir = cache\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    /** The work copy's DVC cache on a host, where the objects a stage needs are restored (relative to the work folder). */
    static final String WORK_COPY_CACHE = ".dvc/cache";
    private static final com.fasterxml.jackson.databind.ObjectMapper YAML = new com.fasterxml.jackson.databind.ObjectMapper(
            new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    public StageRun {
        chain = List.copyOf(chain);
        outputs = List.copyOf(outputs);
    }

    /**
     * The run of {@code stage} of the dvc.yaml in {@code projectDir}; a {@link ConfigException} (exit 2) when there is
     * no dvc.yaml or no such stage, naming the stages there are. {@code paramsFile}: the params file the run changed
     * (brought back too), or null.
     */
    static StageRun of(Path projectDir, String stage, String paramsFile) {
        DvcPipeline pipeline = DvcPipeline.find(projectDir).orElseThrow(() -> new ConfigException("--stage " + stage + ": no "
                + DvcPipeline.FILE_NAME + " in " + projectDir + "; --stage runs a stage of a DVC pipeline (dvc repro " + stage + ")"));
        List<DvcPipeline.Stage> chain = pipeline.upstream(stage);
        Set<String> outputs = new LinkedHashSet<>();
        outputs.add(LOCK_FILE);
        if (paramsFile != null) {
            outputs.add(paramsFile);
        }
        for (DvcPipeline.Stage s : chain) {
            for (DvcPipeline.Out o : s.allOuts()) {
                outputs.add(s.resolve(o.path()));
            }
        }
        return new StageRun(stage, chain, new ArrayList<>(outputs));
    }

    /**
     * What a host needs besides the code to run the stage as {@code dvc repro} would here: the DVC cache objects of the
     * data the stage and those it depends on read or wrote as this workspace last recorded them (the outs in
     * dvc.lock of those stages, the data of the {@code .dvc} files they depend on), taken from the user's DVC cache
     * and put in {@code store}, so they reach the host content-addressed (a blob the host has is not sent again) and
     * are restored into the work copy's own DVC cache ({@code .dvc/cache}). Sortie's {@code dvc checkout} there links
     * the data into the work copy, and {@code dvc repro} skips what is unchanged, as it would here. An object the
     * user's cache lacks is not sent: DVC on the host reproduces what needs it, as it would here.
     */
    static List<ArtifactRecord> inputs(Path projectDir, String stage, BlobStore store, Instant now) throws IOException {
        DvcPipeline pipeline = DvcPipeline.read(projectDir.resolve(DvcPipeline.FILE_NAME));
        List<DvcPipeline.Stage> chain = pipeline.upstream(stage);
        Path cache = DvcCacheLink.of(projectDir).map(DvcCacheLink::cacheDir).orElse(null);
        if (cache == null) {
            return List.of();
        }
        Set<String> hashes = new LinkedHashSet<>();
        Path lock = projectDir.resolve(LOCK_FILE);
        if (Files.isRegularFile(lock)) {
            JsonNode stages = readYaml(lock).path("stages");
            for (DvcPipeline.Stage s : chain) {
                stages.path(s.name()).path("outs").forEach(o -> hash(o, hashes));
            }
        }
        for (DvcPipeline.Stage s : chain) {
            for (String dep : s.deps()) {
                for (Path p = Path.of(s.resolve(dep)); p != null; p = p.getParent()) {
                    Path dvcFile = projectDir.resolve(p + ".dvc");
                    if (Files.isRegularFile(dvcFile)) {
                        readYaml(dvcFile).path("outs").forEach(o -> hash(o, hashes));
                    }
                }
            }
        }
        List<ArtifactRecord> out = new ArrayList<>();
        Set<String> sent = new java.util.HashSet<>();
        for (String h : hashes) {
            ship(cache, h, store, now, out, sent);
        }
        return out;
    }

    /** A DVC YAML file (dvc.lock, a .dvc file); one that is not YAML is an error naming it and where. */
    private static JsonNode readYaml(Path file) throws IOException {
        try {
            JsonNode n = YAML.readTree(file.toFile());
            return n == null ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            String why = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().lines().findFirst().orElse("");
            throw new IOException(file + (at == null ? "" : ":" + at.getLineNr()) + ": not YAML DVC could read (" + why
                    + "); the stage's inputs for the host are found from it: fix it or run 'dvc repro' here", e);
        }
    }

    private static void hash(JsonNode out, Set<String> hashes) {
        if (out.path("md5").isTextual()) {
            hashes.add(out.get("md5").asText());
        }
    }

    /** One object of the cache (DVC 3's {@code files/md5/ab/cdef...}), and for a folder's {@code .dir} object, its files. */
    private static void ship(Path cache, String md5, BlobStore store, Instant now, List<ArtifactRecord> out, Set<String> sent) throws IOException {
        if (md5.length() < 3 || !md5.matches("[0-9a-f]+(\\.dir)?") || !sent.add(md5)) {
            return;
        }
        String rel = "files/md5/" + md5.substring(0, 2) + "/" + md5.substring(2);
        Path object = cache.resolve(rel);
        if (!Files.isRegularFile(object)) {
            return;
        }
        out.add(new ArtifactRecord(ArtifactKind.ARTIFACT, WORK_COPY_CACHE + "/" + rel, store.put(object), Files.size(object), now));
        if (md5.endsWith(".dir")) {
            for (JsonNode entry : JSON.readTree(object.toFile())) {
                if (entry.path("md5").isTextual()) {
                    ship(cache, entry.get("md5").asText(), store, now, out, sent);
                }
            }
        }
    }

    /** {@code dvc repro STAGE}, run by the shell so that {@code dvc} is found on the run's own PATH (sortie.yaml's env). */
    CommandSpec command() {
        return CommandSpec.shell("dvc repro " + "'" + stage.replace("'", "'\\''") + "'");
    }
}
