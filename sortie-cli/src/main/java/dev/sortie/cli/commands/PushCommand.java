package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.cli.access.CredentialsFile;
import dev.sortie.cli.access.ServerClient;
import dev.sortie.cli.access.ServerLogin;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "push", mixinStandardHelpOptions = true,
        description = {"Copy experiments of this project's ledger into the table of the server 'sortie login' names: records, logs,",
                "metrics, and artifacts and checkpoints by hash (only the blobs the server lacks). Pushing again changes nothing;",
                "a push cut short is finished by pushing again. Experiments still queued or running are left for later."})
public final class PushCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", arity = "0..*", description = "Experiment names or ids (default: every ended experiment).")
    List<String> experiments = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        try {
            return push();
        } catch (UncheckedIOException e) {
            // a connection cut or a server gone mid-push: what arrived stays there, blobs in parts included
            throw new UncheckedIOException(e.getMessage() + "; 'sortie push' again goes on from what the server has", e.getCause());
        }
    }

    private int push() throws Exception {
        ServerLogin login = ServerLogin.resolve(System.getenv(), CredentialsFile.of(System.getenv())).orElseThrow(() -> new ConfigException(
                "push needs a server: run 'sortie login URL' (or set SORTIE_SERVER and SORTIE_TOKEN)"));
        ServerClient server = new ServerClient(login);
        ExperimentService service = context().service();
        service.reconcile();
        Ledger ledger = service.ledger();
        List<Experiment> chosen = new ArrayList<>();
        if (experiments.isEmpty()) {
            chosen.addAll(ledger.list());
        } else {
            for (String ref : experiments) {
                chosen.add(service.find(ref));
            }
        }
        List<Experiment> ended = new ArrayList<>();
        for (Experiment e : chosen) {
            if (e.status().isTerminal()) {
                ended.add(e);
            } else if (!experiments.isEmpty()) {
                err().println("sortie: " + e.name() + " is " + e.status().label() + ": push it once it has ended");
            }
        }
        int created = 0;
        int blobs = 0;
        long bytes = 0;
        for (int i = 0; i < ended.size(); i++) {
            Experiment e = ended.get(i);
            List<ArtifactRecord> artifacts = ledger.artifacts(e.id());
            Set<String> hashes = new LinkedHashSet<>();
            artifacts.forEach(a -> hashes.add(a.hash()));
            int sent = 0;
            if (!hashes.isEmpty()) {
                JsonNode missing = server.post("/blobs/missing", Map.of("hashes", List.copyOf(hashes))).get("missing");
                BlobStore store = context().store();
                for (JsonNode h : missing) {
                    String hash = h.asText();
                    long size = store.size(hash);
                    if (size > dev.sortie.cli.access.BlobUpload.WHOLE) {
                        // in parts: no request over the server's body limit, and a push cut short goes on where it stopped
                        String label = "[" + (i + 1) + "/" + ended.size() + "] " + e.name() + ": blob " + hash.substring(0, 12) + " ";
                        ProgressLine line = new ProgressLine(err(), false);
                        boolean[] told = {false};
                        dev.sortie.cli.access.BlobUpload.send(server, store, hash, size, (done, total, resumedAt) -> {
                            if (resumedAt > 0 && !told[0]) {
                                told[0] = true;
                                line.show("");
                                err().println("sortie: " + label + "resumed at " + Units.human(resumedAt) + " of " + Units.human(total)
                                        + " (the server kept what an earlier push sent)");
                            }
                            line.show(label + Units.human(done) + " of " + Units.human(total) + " (" + (done * 100 / Math.max(1, total)) + "%)");
                        });
                        line.show("");
                    } else {
                        server.putStream("/blobs/" + hash, () -> {
                            try {
                                return store.open(hash);
                            } catch (IOException ex) {
                                throw new UncheckedIOException("cannot read blob " + hash + " of " + e.name() + " from " + store.location() + ": "
                                        + ex.getMessage(), ex);
                            }
                        });
                    }
                    sent++;
                    bytes += size;
                }
            }
            blobs += sent;
            boolean isNew = server.put("/experiments/" + ServerClient.encode(e.id()) + "/record", record(service, e, artifacts))
                    .path("created").asBoolean();
            created += isNew ? 1 : 0;
            err().println("sortie: [" + (i + 1) + "/" + ended.size() + "] " + e.name() + " (" + e.id() + "): "
                    + (isNew ? "pushed" : "already there") + (sent == 0 ? "" : ", " + sent + " blob" + (sent == 1 ? "" : "s") + " sent"));
        }
        err().println("sortie: pushed " + ended.size() + " experiment" + (ended.size() == 1 ? "" : "s") + " to " + login.url() + ": "
                + created + " new, " + (ended.size() - created) + " already there, " + blobs + " blob" + (blobs == 1 ? "" : "s") + " sent ("
                + Units.human(bytes) + ")");
        return 0;
    }

    /** The experiment as PUT /experiments/{id}/record takes it (API.md). */
    private static Map<String, Object> record(ExperimentService service, Experiment e, List<ArtifactRecord> artifacts) throws IOException {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("id", e.id());
        x.put("name", e.name());
        x.put("status", e.status().label());
        x.put("executor", e.executor());
        if (e.command().isShell()) {
            x.put("shell", e.command().shell());
        } else {
            x.put("argv", e.command().argv());
        }
        x.put("params", e.params().asMap());
        if (e.code() != null) {
            Map<String, Object> code = new LinkedHashMap<>();
            code.put("base_commit", e.code().baseCommit());
            code.put("snapshot_commit", e.code().snapshotCommit());
            code.put("ref", e.code().ref());
            code.put("dirty", e.code().dirty());
            x.put("code", code);
        }
        x.put("task", e.task());
        x.put("created", time(e.createdAt()));
        x.put("started", time(e.startedAt()));
        x.put("ended", time(e.endedAt()));
        x.put("exit_code", e.exitCode());
        x.put("error", e.error());
        x.put("attempt", e.attempt());
        List<Map<String, Object>> points = new ArrayList<>();
        Ledger ledger = service.ledger();
        for (String key : ledger.latestMetrics(e.id()).keySet()) {
            for (MetricPoint p : ledger.series(e.id(), key)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("key", p.key());
                m.put("step", p.step());
                m.put("value", Double.isFinite(p.value()) ? p.value() : null);
                m.put("time", time(p.time()));
                points.add(m);
            }
        }
        List<Map<String, Object>> files = new ArrayList<>();
        for (ArtifactRecord a : artifacts) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", a.kind().name().toLowerCase(Locale.ROOT));
            m.put("path", a.path());
            m.put("hash", a.hash());
            m.put("size", a.size());
            m.put("saved", time(a.savedAt()));
            files.add(m);
        }
        Map<String, String> logs = new LinkedHashMap<>();
        for (int n = 1; n <= e.attempt(); n++) {
            Path log = service.paths().logFile(e.id(), n);
            if (Files.isRegularFile(log)) {
                // lenient: bytes that are not UTF-8 become U+FFFD rather than failing the push
                logs.put(String.valueOf(n), new String(Files.readAllBytes(log), StandardCharsets.UTF_8));
            }
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("experiment", x);
        body.put("metrics", points);
        body.put("artifacts", files);
        body.put("logs", logs);
        return body;
    }

    private static String time(java.time.Instant t) {
        return t == null ? null : t.toString();
    }
}
