package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tutorial-shaped DVC project of {@link DvcProjectTest} (real DVC from PyPI) run with {@code run: dvc repro} on an
 * ssh host (real sshd on loopback, the real agent): the DVC-tracked data reaches the host's DVC cache from the user's,
 * content-addressed and once; unchanged stages are skipped on the host's second run; what the host computed comes
 * back into the user's DVC cache, so a local run then skips every stage too.
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class RemoteDvcProjectTest {
    @SshHost
    static SshdFixture sshd;

    @TempDir
    Path tmp;

    @AfterEach
    void killLeftovers() throws Exception {
        new ProcessBuilder("pkill", "-f", "AgentMain run " + tmp.resolve("host")).start().waitFor();
    }

    @Test
    void thePipelineRunsOnAnSshHostWithTheProjectsDvcDataAndItsOutsComeBack() throws Exception {
        DvcProjectTest tutorial = new DvcProjectTest();
        tutorial.tmp = tmp;
        TestProject project = tutorial.tutorial();
        Path remote = tmp.resolve("host");
        project.write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box", sshd, remote)).commit();

        TestProject.Result first = project.sortie("run", "-e", "box", "-n", "cold");
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        String cold = DvcProjectTest.log(project, "cold");
        for (String stage : List.of("prepare", "featurize", "train", "evaluate")) {
            assertThat(cold).contains("Running stage '" + stage + "'");
        }
        // the data went into the project's DVC cache on the host, under its md5, from the user's cache
        String dataMd5 = md5Of(project.read("data/data.xml.dvc"));
        Path hostCache;
        try (Stream<Path> s = Files.list(remote.resolve("cache/dvc"))) {
            hostCache = s.findFirst().orElseThrow();
        }
        Path hostData = hostCache.resolve("files/md5/" + dataMd5.substring(0, 2) + "/" + dataMd5.substring(2));
        assertThat(hostData).isRegularFile();
        long sentAt = Files.getLastModifiedTime(hostData).toMillis();
        // what the host computed came back: the model's object and the run-cache are in the user's DVC cache
        assertThat(project.dir.resolve(".dvc/cache/runs")).isDirectory();
        // and the evaluate stage's ROC plot (dvc.yaml's plots:) with how to draw it: drawn against fpr
        TestProject.Result plots = project.sortie("plots", "cold", "-o", "cold.html", "--json");
        assertThat(plots.code()).as(plots.out() + plots.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode roc = null;
        for (com.fasterxml.jackson.databind.JsonNode c : new com.fasterxml.jackson.databind.ObjectMapper().readTree(plots.out()).get("charts")) {
            if (c.get("metric").asText().equals("eval/plots/roc.json · tpr")) {
                roc = c;
            }
        }
        assertThat(roc).as(plots.out()).isNotNull();
        assertThat(roc.get("x").asText()).isEqualTo("fpr");
        assertThat(roc.get("points").asInt()).isEqualTo(5);

        TestProject.Result second = project.sortie("run", "-e", "box", "-n", "warm");
        assertThat(second.code()).as(second.out() + second.err()).isZero();
        String warm = DvcProjectTest.log(project, "warm");
        assertThat(warm).doesNotContain("Running stage");
        // nothing sent again: the object on the host is the one the first run's sync put there
        assertThat(Files.getLastModifiedTime(hostData).toMillis()).isEqualTo(sentAt);

        // a local run finds everything the host computed in the user's cache
        TestProject.Result local = project.sortie("run", "-n", "local");
        assertThat(local.code()).as(local.out() + local.err()).isZero();
        assertThat(DvcProjectTest.log(project, "local")).doesNotContain("Running stage");

        TestProject.Result third = project.sortie("run", "-e", "box", "-n", "more-trees", "-S", "train.n_est=80");
        assertThat(third.code()).as(third.out() + third.err()).isZero();
        assertThat(DvcProjectTest.log(project, "more-trees")).doesNotContain("Running stage 'prepare'")
                .doesNotContain("Running stage 'featurize'").contains("Running stage 'train'").contains("Running stage 'evaluate'");

        // the host's metrics are the pipeline's: the same as DVC's own in the project with the same params
        DvcProjectTest.dvc(project, "repro", "-q");
        com.fasterxml.jackson.databind.JsonNode m = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Files.readString(project.dir.resolve("eval/metrics.json")));
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Map<String, Double> got = l.latestMetrics(l.find("cold").orElseThrow().id());
            assertThat(metric(got, "roc_auc")).isEqualTo(m.get("roc_auc").get("test").asDouble());
            assertThat(metric(got, "avg_prec")).isEqualTo(m.get("avg_prec").get("test").asDouble());
        }

        // apply, as dvc exp apply: params, dvc.lock and outs of the host's run, then of the local one; dvc status clean
        String apply = apply(project, "more-trees");
        assertThat(apply).contains("checked the outs of more-trees out of the DVC cache");
        assertThat(project.read("params.yaml")).contains("n_est: 80");
        assertThat(project.read("dvc.lock")).contains("n_est: 80");
        assertThat(DvcProjectTest.dvc(project, "status")).contains("Data and pipelines are up to date");
        // the plot file is the run's and comes back; Sortie's manifest of how to draw it is no file of the project
        assertThat(project.dir.resolve("eval/plots/roc.json")).isRegularFile();
        assertThat(project.dir.resolve(".sortie/dvc-plots.json")).doesNotExist();
        apply(project, "local");
        assertThat(project.read("params.yaml")).contains("n_est: 50");
        assertThat(DvcProjectTest.dvc(project, "status")).contains("Data and pipelines are up to date");
        assertThat(project.read("eval/metrics.json")).isEqualTo(Files.readString(project.dir.resolve("eval/metrics.json")));
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            com.fasterxml.jackson.databind.JsonNode applied = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(project.read("eval/metrics.json"));
            assertThat(metric(l.latestMetrics(l.find("local").orElseThrow().id()), "roc_auc"))
                    .isEqualTo(applied.get("roc_auc").get("test").asDouble());
        }
    }

    /**
     * The test: a grid of 3 points of the pipeline queued on the ssh host and on the local executor, every
     * metric of every point equal to what {@code dvc exp run} computes on the same params in the project.
     */
    @Test
    void aGridOnTheHostAndLocallyMatchesDvcExpRunPointForPoint() throws Exception {
        DvcProjectTest tutorial = new DvcProjectTest();
        tutorial.tmp = tmp;
        TestProject project = tutorial.tutorial();
        project.write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box", sshd, tmp.resolve("host"))).commit();
        List<Long> points = List.of(40L, 60L, 90L);
        String grid = "train.n_est=" + points.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","));
        for (String where : List.of("box", "local")) {
            TestProject.Result q = project.sortie("run", "--queue", "-e", where, "-n", where, "-S", grid);
            assertThat(q.code()).as(q.out() + q.err()).isZero();
        }
        for (String where : List.of("box", "local")) { // a worker drains the experiments queued for its executor
            TestProject.Result drain = project.sortie("queue", "start", "-e", where, "-j", "2");
            assertThat(drain.code()).as(drain.out() + drain.err()).isZero();
            assertThat(drain.err() + drain.out()).contains("3 succeeded");
        }

        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            for (long n : points) {
                DvcProjectTest.dvc(project, "exp", "run", "-q", "-S", "train.n_est=" + n);
                com.fasterxml.jackson.databind.JsonNode dvc = json.readTree(Files.readString(project.dir.resolve("eval/metrics.json")));
                int found = 0;
                for (dev.sortie.core.model.Experiment e : l.list()) {
                    if (!e.params().get("train.n_est").equals(java.util.Optional.of(n))) {
                        continue;
                    }
                    found++;
                    Map<String, Double> got = l.latestMetrics(e.id());
                    assertThat(metric(got, "roc_auc")).as(e.name() + " on " + e.executor()).isEqualTo(dvc.get("roc_auc").get("test").asDouble());
                    assertThat(metric(got, "avg_prec")).as(e.name() + " on " + e.executor()).isEqualTo(dvc.get("avg_prec").get("test").asDouble());
                }
                assertThat(found).as("experiments with train.n_est=" + n + ", one on each executor").isEqualTo(2);
            }
        }
    }

    /** A DVC metric's value under either spelling of its name ({@code roc_auc/test} or DVC's {@code roc_auc.test}). */
    private static double metric(Map<String, Double> metrics, String name) {
        Double v = metrics.containsKey(name + "/test") ? metrics.get(name + "/test") : metrics.get(name + ".test");
        assertThat(v).as(name + ".test in " + metrics).isNotNull();
        return v;
    }

    /** {@code sortie apply EXP} as a user runs it: its own process, with dvc on its PATH. */
    private String apply(TestProject project, String experiment) throws Exception {
        Path out = tmp.resolve("apply-" + experiment + ".txt");
        ProcessBuilder pb = project.processBuilder(out, "apply", experiment);
        pb.environment().put("PATH", DvcVenv.BIN + ":" + System.getenv("PATH"));
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String text = Files.readString(out);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }

    private static String md5Of(String dvcFile) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("md5: ([0-9a-f]{32})").matcher(dvcFile);
        assertThat(m.find()).as(dvcFile).isTrue();
        return m.group(1);
    }
}
