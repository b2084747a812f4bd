package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DVC project in the tutorial's shape (stages prepare, featurize, train, evaluate; nested params.yaml; metrics
 * in eval/metrics.json; a ROC plot; data tracked by DVC with a local DVC remote), run by Sortie with real DVC from
 * PyPI. The stages are small pure-Python scripts, so a pipeline runs in seconds.
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class DvcProjectTest {

    @TempDir
    Path tmp;

    /** The project's files, shared with bench/dvc.py: testkit/dvc-tutorial/. */
    static final String TUTORIAL = "dvc-tutorial";
    static final String PARAMS = Testkit.read(TUTORIAL + "/params.yaml");
    static final String DVC_YAML = Testkit.read(TUTORIAL + "/dvc.yaml");

    @Test
    void initInADvcProjectWritesATaskThatRunsThePipeline() throws Exception {
        TestProject project = tutorial();
        project.git("rm", "-q", "sortie.yaml");
        project.commit();
        TestProject.Result init = project.sortie("init");
        assertThat(init.code()).as(init.err()).isZero();
        assertThat(init.err()).contains("DVC pipeline in dvc.yaml").contains("eval/metrics.json");
        String yaml = project.read("sortie.yaml");
        // the metrics come from dvc.yaml itself: sortie.yaml repeats none of them
        assertThat(yaml).contains("run: dvc repro").doesNotContain("\nmetrics:").contains("eval/metrics.json")
                .contains("artifacts: [eval/plots/roc.json]").doesNotContain("params:\n").doesNotContain("train.py");
        // as written, with dvc on the PATH of the run (a user's shell has it)
        project.write("sortie.yaml", yaml + "env: {PATH: \"" + DvcVenv.BIN + ":/usr/local/bin:/usr/bin:/bin\"}\n").commit();
        TestProject.Result run = project.sortie("run", "-n", "from-init", "-S", "train.n_est=60");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("from-init").orElseThrow();
            assertThat(l.latestMetrics(e.id())).containsKeys("roc_auc.test", "avg_prec.test");
            assertThat(e.params().get("train.n_est")).contains(60L);
        }
    }

    /** The project, committed, its data added to DVC and pushed to a local DVC remote; nothing reproduced yet. */
    TestProject tutorial() throws Exception {
        return tutorial(tmp);
    }

    /** As {@link #tutorial()}, in {@code tmp}, with the DVC of {@link DvcVenv#BIN} on its PATH. */
    static TestProject tutorial(Path tmp) throws Exception {
        TestProject project = tutorialFiles(tmp.resolve("proj"));
        project.write("sortie.yaml", """
                        name: tut
                        run: dvc repro
                        env: {PATH: "%s:/usr/local/bin:/usr/bin:/bin"}
                        metrics: [eval/metrics.json]
                        """.formatted(DvcVenv.BIN));
        dvc(project, "init", "-q");
        dvc(project, "add", "-q", "data/data.xml");
        dvc(project, "remote", "add", "-d", "storage", tmp.resolve("dvc-remote").toString());
        dvc(project, "push", "-q");
        project.commit();
        return project;
    }

    /** The tutorial's files (data, params, dvc.yaml, stages) in a new project at {@code dir}; no DVC or git yet. */
    static TestProject tutorialFiles(Path dir) throws Exception {
        TestProject project = new TestProject(dir);
        for (String file : List.of("data/data.xml", "params.yaml", "dvc.yaml", "src/prepare.py", "src/featurization.py",
                "src/train.py", "src/evaluate.py")) {
            project.write(file, Testkit.read(TUTORIAL + "/" + file));
        }
        return project;
    }

    static String dvc(TestProject project, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(DvcVenv.BIN.resolve("dvc").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(project.dir.toFile()).redirectErrorStream(true);
        pb.environment().put("PATH", DvcVenv.BIN + ":" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("dvc " + String.join(" ", args) + " failed:\n" + out);
        }
        return out;
    }

    static String log(TestProject project, String name) {
        TestProject.Result r = project.sortie("logs", name);
        assertThat(r.code()).as(r.err()).isZero();
        return r.out();
    }

    @Test
    void dvcReproRunsAsItIsAndSharesTheProjectsCacheSoUnchangedStagesAreSkipped() throws Exception {
        TestProject project = tutorial();
        TestProject.Result first = project.sortie("run", "-n", "cold");
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        String cold = log(project, "cold");
        for (String stage : List.of("prepare", "featurize", "train", "evaluate")) {
            assertThat(cold).contains("Running stage '" + stage + "'");
        }
        // the run's DVC wrote into the project's cache (its run-cache too): shared, not a cache of the work copy
        assertThat(project.dir.resolve(".dvc/cache/runs")).isDirectory();

        TestProject.Result second = project.sortie("run", "-n", "warm");
        assertThat(second.code()).as(second.out() + second.err()).isZero();
        String warm = log(project, "warm");
        assertThat(warm).doesNotContain("Running stage");
        for (String stage : List.of("prepare", "featurize", "train", "evaluate")) {
            assertThat(warm).containsPattern("Stage '" + stage + "' is cached - skipping run|Stage '" + stage + "' didn't change");
        }

        TestProject.Result third = project.sortie("run", "-n", "more-trees", "-S", "train.n_est=80");
        assertThat(third.code()).as(third.out() + third.err()).isZero();
        String changed = log(project, "more-trees");
        assertThat(changed).doesNotContain("Running stage 'prepare'").doesNotContain("Running stage 'featurize'")
                .contains("Running stage 'train'").contains("Running stage 'evaluate'");

        // the run's params.yaml is the user's with only n_est changed: comments, blank lines and 0.20 kept
        String commit;
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            commit = l.find("more-trees").orElseThrow().code().snapshotCommit();
        }
        assertThat(project.git("show", commit + ":params.yaml")).isEqualTo(PARAMS.replace("n_est: 50", "n_est: 80"));

        // the metrics are the pipeline's: the same as DVC computes in the project with the same params
        dvc(project, "repro", "-q");
        Map<String, Double> coldMetrics;
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("cold").orElseThrow();
            coldMetrics = l.latestMetrics(e.id());
        }
        String expected = Files.readString(project.dir.resolve("eval/metrics.json"));
        com.fasterxml.jackson.databind.JsonNode m = new com.fasterxml.jackson.databind.ObjectMapper().readTree(expected);
        assertThat(coldMetrics).containsEntry("roc_auc.test", m.get("roc_auc").get("test").asDouble())
                .containsEntry("avg_prec.test", m.get("avg_prec").get("test").asDouble());
    }

    @Test
    void theMetricsDvcYamlDeclaresAreRecordedUnderDvcsNamesEqualToDvcExpShow() throws Exception {
        TestProject project = tutorial();
        // no metrics: in sortie.yaml; dvc.yaml's are enough
        project.write("sortie.yaml", """
                name: tut
                run: dvc repro
                env: {PATH: "%s:/usr/local/bin:/usr/bin:/bin"}
                """.formatted(DvcVenv.BIN)).commit();
        TestProject.Result run = project.sortie("run", "-n", "mine", "-S", "train.n_est=70");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        Map<String, Double> ours;
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            ours = new java.util.TreeMap<>(l.latestMetrics(l.find("mine").orElseThrow().id()));
        }
        ours.keySet().removeIf(k -> k.startsWith("sys/"));

        dvc(project, "exp", "run", "-q", "-S", "train.n_est=70");
        com.fasterxml.jackson.databind.JsonNode shown = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dvc(project, "exp", "show", "--json", "--no-pager"));
        Map<String, Double> dvcs = new java.util.TreeMap<>();
        shown.get(0).get("data").get("metrics").fields().forEachRemaining(f -> flatten("", f.getValue().get("data"), dvcs));
        assertThat(dvcs).containsKeys("roc_auc.test", "avg_prec.test");
        assertThat(ours).isEqualTo(dvcs);
    }

    /** DVC's metric names: nested keys joined with '.'. */
    private static void flatten(String prefix, com.fasterxml.jackson.databind.JsonNode node, Map<String, Double> out) {
        node.fields().forEachRemaining(f -> {
            String key = prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey();
            if (f.getValue().isNumber()) {
                out.put(key, f.getValue().asDouble());
            } else if (f.getValue().isObject()) {
                flatten(key, f.getValue(), out);
            }
        });
    }
}
