package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sortie import dvc} on experiments made by real DVC ({@code dvc exp run}) in a project of the tutorial's shape
 * (DvcProjectTest's), compared with what {@code dvc exp show --json} lists.
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class DvcImportTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    TestProject tutorial() throws Exception {
        TestProject project = DvcProjectTest.tutorialFiles(tmp.resolve("proj"));
        DvcProjectTest.dvc(project, "init", "-q");
        DvcProjectTest.dvc(project, "add", "-q", "data/data.xml");
        project.commit();
        return project;
    }

    @Test
    void importsDvcsExperimentsAsDvcExpShowListsThemOnceEach() throws Exception {
        TestProject project = tutorial();
        String baseline = project.git("rev-parse", "HEAD").strip();
        DvcProjectTest.dvc(project, "exp", "run", "-q", "-n", "more-trees", "-S", "train.n_est=60");
        // a Sortie experiment already holds the name DVC's next one will have: the import keeps both
        TestProject.Result own = project.sortie("run", "-n", "fewer-feats", "--", "true");
        assertThat(own.code()).as(own.err()).isZero();

        TestProject.Result first = project.sortie("import", "dvc", "--json");
        assertThat(first.code()).as(first.err()).isZero();
        JsonNode imported = JSON.readTree(first.out());
        assertThat(imported).hasSize(1);
        assertThat(imported.get(0).get("name").asText()).isEqualTo("more-trees");
        assertSameAsDvc(project, imported, baseline);

        // a new DVC experiment is the only one the next import brings; one more import adds nothing
        DvcProjectTest.dvc(project, "exp", "run", "-q", "-n", "fewer-feats", "-S", "featurize.max_features=50",
                "-S", "prepare.split=0.30");
        TestProject.Result second = project.sortie("import", "dvc", "--json");
        assertThat(second.code()).as(second.err()).isZero();
        JsonNode more = JSON.readTree(second.out());
        assertThat(more).hasSize(1);
        assertThat(second.err()).contains("imported 1 DVC experiment; 1 imported before, skipped");
        // DVC's name was taken by the Sortie run: the import's gets the baseline's short sha
        assertThat(more.get(0).get("name").asText()).isEqualTo("fewer-feats-" + baseline.substring(0, 7));
        assertSameAsDvc(project, more, baseline);
        TestProject.Result again = project.sortie("import", "dvc");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).isEmpty();
        assertThat(again.err()).contains("imported 0 DVC experiments; 2 imported before, skipped");

        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.count()).isEqualTo(3);
            assertThat(l.find("more-trees").orElseThrow().params().get("train.n_est")).contains(60L);
            Experiment e = l.find("fewer-feats-" + baseline.substring(0, 7)).orElseThrow();
            assertThat(e.params().get("featurize.max_features")).contains(50L);
            assertThat(e.params().get("prepare.split")).contains(0.30);
        }
        // the table shows them with their params and metrics
        TestProject.Result show = project.sortie("show");
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains("more-trees").contains("fewer-feats-" + baseline.substring(0, 7)).contains("roc_auc");
    }

    /** Each imported row is the experiment {@code dvc exp show --json} lists for its commit, to the last bit. */
    private static void assertSameAsDvc(TestProject project, JsonNode imported, String baseline) throws Exception {
        Map<String, JsonNode> dvcExps = dvcExpShow(project);
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            for (JsonNode row : imported) {
                String commit = row.get("commit").asText();
                JsonNode dvc = dvcExps.get(commit);
                assertThat(dvc).as("DVC lists " + commit).isNotNull();
                assertThat(row.get("dvc_name").asText()).isEqualTo(dvc.get("name").asText());
                Experiment e = l.find(row.get("id").asText()).orElseThrow();
                assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
                assertThat(e.code().snapshotCommit()).isEqualTo(commit);
                assertThat(e.code().baseCommit()).isEqualTo(baseline);
                // DVC prints the commit's time in local time without a zone
                assertThat(e.createdAt()).isEqualTo(LocalDateTime.parse(dvc.path("data").get("timestamp").asText())
                        .atZone(ZoneId.systemDefault()).toInstant());
                // every param of params.yaml, as DVC reads it
                Map<String, Object> dvcParams = new TreeMap<>();
                flatten("", dvc.path("data").path("params").path("params.yaml").path("data"), dvcParams);
                Map<String, Object> ours = new TreeMap<>();
                e.params().flatten().forEach((k, v) -> ours.put(k, ((Number) v).doubleValue()));
                assertThat(ours).isEqualTo(dvcParams).isNotEmpty();
                // every metric of eval/metrics.json under DVC's names (roc_auc.test), in the ledger and the JSON
                Map<String, Object> dvcMetrics = new TreeMap<>();
                flatten("", dvc.path("data").path("metrics").path("eval/metrics.json").path("data"), dvcMetrics);
                Map<String, Object> metrics = new TreeMap<>();
                metrics.putAll(l.latestMetrics(e.id())); // under DVC's own names, no translation
                assertThat(metrics).isEqualTo(dvcMetrics).containsKeys("roc_auc.test", "avg_prec.test");
                Map<String, Object> printed = new TreeMap<>();
                row.get("metrics").fields().forEachRemaining(m -> printed.put(m.getKey(), m.getValue().asDouble()));
                assertThat(printed).isEqualTo(dvcMetrics);
                // the commit is kept for apply/diff/branch after DVC's own ref goes
                assertThat(project.git("rev-parse", "refs/sortie/experiments/" + e.id()).strip()).isEqualTo(commit);
            }
        }
    }

    @Test
    void anythingButADvcProjectInGitIsAUsageErrorSayingWhatWasExpected() throws Exception {
        TestProject plain = new TestProject(tmp.resolve("plain"));
        plain.write("train.py", "print(1)\n").commit();
        TestProject.Result r = plain.sortie("import", "dvc");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no DVC project in").contains("expected a .dvc/ folder there (made by 'dvc init')");
        assertThat(plain.dir.resolve(".sortie")).doesNotExist();

        // a DVC project outside git (dvc init --no-scm) has no experiments DVC could have made
        Path noScm = tmp.resolve("noscm");
        Files.createDirectories(noScm.resolve(".dvc"));
        TestProject.Result r2 = TestProject.plain(noScm).sortie("import", "dvc");
        assertThat(r2.code()).isEqualTo(2);
        assertThat(r2.err()).contains("is not in a git repository").contains("refs/exps");
    }

    /** {@code dvc exp show --json}'s experiments by commit (the baseline and the workspace left out). */
    static Map<String, JsonNode> dvcExpShow(TestProject project) throws Exception {
        JsonNode all = JSON.readTree(DvcProjectTest.dvc(project, "exp", "show", "--json"));
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode baseline : all) {
            for (JsonNode exp : baseline.path("experiments")) {
                for (JsonNode rev : exp.path("revs")) {
                    out.put(rev.get("rev").asText(), rev);
                }
            }
        }
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, Object> out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String key = prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey();
            if (f.getValue().isObject()) {
                flatten(key, f.getValue(), out);
            } else {
                out.put(key, f.getValue().asDouble());
            }
        }
    }
}
