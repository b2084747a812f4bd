package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sortie run --stage NAME [-e EXECUTOR]} on the tutorial-shaped DVC project of {@link DvcProjectTest}, with
 * real DVC: the stage runs with the stages it depends on (as {@code dvc repro NAME}), here and on an ssh host, and
 * its outs and dvc.lock come back into the user's workspace and DVC cache, so DVC there says it is up to date.
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class DvcStageTest {
    @SshHost
    static SshdFixture sshd;

    @TempDir
    Path tmp;

    @Test
    void aStageRunsHereWithWhatItDependsOnAndItsOutsAndDvcLockComeBackSoDvcSaysItIsUpToDate() throws Exception {
        TestProject project = DvcProjectTest.tutorial(tmp);
        TestProject.Result run = project.sortie("run", "-n", "st", "--stage", "train");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        String log = DvcProjectTest.log(project, "st");
        assertThat(log).contains("Running stage 'prepare'", "Running stage 'featurize'", "Running stage 'train'")
                .doesNotContain("Running stage 'evaluate'");
        assertThat(run.err()).contains("stage train of st: brought back");
        assertUpToDate(project, "train");
        assertThat(project.dir.resolve("eval/metrics.json")).doesNotExist(); // evaluate stays for later, here
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("st").orElseThrow();
            assertThat(TaskSource.fromJson(e.task()).stage()).isEqualTo("train");
            assertThat(e.command().toString()).contains("dvc repro 'train'");
        }
        // what comes later reads what came back: evaluate reruns nothing before it
        String evaluate = DvcProjectTest.dvc(project, "repro", "evaluate");
        assertThat(evaluate).contains("Running stage 'evaluate'").doesNotContain("Running stage 'train'")
                .doesNotContain("Running stage 'prepare'");
    }

    @Test
    void aRetriedStageRunBringsItsResultsBackAsTheFirstRunDidAndTheStageShowsInTheTable() throws Exception {
        TestProject project = DvcProjectTest.tutorial(tmp);
        TestProject.Result run = project.sortie("run", "-n", "prep", "--stage", "prepare");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        // what came back goes from the workspace; the retry brings its own results back
        Files.delete(project.dir.resolve("dvc.lock"));
        try (java.util.stream.Stream<Path> s = Files.walk(project.dir.resolve("data/prepared"))) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        TestProject.Result again = project.sortie("retry", "prep");
        assertThat(again.code()).as(again.out() + again.err()).isZero();
        assertThat(again.err()).contains("stage prepare of prep: brought back");
        assertThat(project.dir.resolve("data/prepared")).isDirectory();
        assertThat(project.read("dvc.lock")).contains("prepare:");
        assertThat(DvcProjectTest.dvc(project, "status", "prepare")).contains("Data and pipelines are up to date");
        // a queue worker would leave the results behind: refused, saying how
        TestProject.Result queued = project.sortie("retry", "--queue", "prep");
        assertThat(queued.code()).isEqualTo(2);
        assertThat(queued.err()).contains("ran stage prepare of dvc.yaml (--stage)", "sortie retry prep");

        project.sortie("run", "-n", "whole", "--", "true");
        TestProject.Result show = project.sortie("show", "--columns", "name,stage");
        assertThat(show.out()).containsPattern("prep\\s+prepare");
        assertThat(project.sortie("show").out()).contains("stage");
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(project.sortie("show", "--json").out());
        java.util.Map<String, String> stages = new java.util.TreeMap<>();
        json.forEach(row -> stages.put(row.path("name").asText(), row.path("stage").isNull() ? "-" : row.path("stage").asText()));
        assertThat(stages).isEqualTo(java.util.Map.of("prep", "prepare", "whole", "-"));
    }

    @Test
    void anUnknownStageIsABadUsageNamingTheStagesThereAre() throws Exception {
        TestProject project = DvcProjectTest.tutorial(tmp);
        TestProject.Result run = project.sortie("run", "--stage", "trian");
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err()).contains("dvc.yaml: no stage 'trian'; did you mean 'train'? its stages: prepare, featurize, train, evaluate");
        assertThat(project.sortie("run", "--stage", "train", "--", "echo", "hi").code()).isEqualTo(2);
        project.write("sortie.yaml", project.read("sortie.yaml") + "workdir: src\n").commit();
        TestProject.Result elsewhere = project.sortie("run", "--stage", "train");
        assertThat(elsewhere.code()).isEqualTo(2);
        assertThat(elsewhere.err()).contains("'workdir': --stage runs dvc.yaml of the project folder");
    }

    @Test
    void aStageRunsOnAnSshHostWithItsDataBroughtThereAndItsResultsBroughtBack() throws Exception {
        TestProject project = DvcProjectTest.tutorial(tmp);
        Path remote = tmp.resolve("host");
        project.write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box", sshd, remote)).commit();
        // the stages before train ran here already: the host gets their outs and reruns none of them
        DvcProjectTest.dvc(project, "repro", "featurize");
        TestProject.Result run = project.sortie("run", "-n", "far", "--stage", "train", "-e", "box", "-S", "train.n_est=70");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        String log = DvcProjectTest.log(project, "far");
        assertThat(log).contains("Running stage 'train'").doesNotContain("Running stage 'prepare'").doesNotContain("Running stage 'featurize'");
        assertThat(project.read("params.yaml")).contains("n_est: 70").contains("split: 0.20");
        assertUpToDate(project, "train");
        try (java.util.stream.Stream<Path> onHost = Files.walk(remote)) {
            assertThat(onHost.anyMatch(p -> p.endsWith("model.pkl"))).as("the stage ran on the host").isTrue();
        }

        // the data went to the host once, into the project's DVC cache there, not also through Sortie's store
        byte[] data = Files.readAllBytes(project.dir.resolve("data/data.xml"));
        try (java.util.stream.Stream<Path> store = Files.walk(remote.resolve("store"))) {
            List<Path> copies = store.filter(Files::isRegularFile).filter(p -> sameBytes(p, data)).toList();
            assertThat(copies).as("DVC-tracked data in the host's store").isEmpty();
        } catch (java.nio.file.NoSuchFileException noStore) {
            // nothing went through the store at all
        }
        // a second stage run on the same host sends no data: the host's DVC cache and store are as the first left
        // them, and the run's work copy uses that cache (it holds no DVC cache of its own)
        java.util.Map<Path, Long> before = dataOnHost(remote);
        TestProject.Result again = project.sortie("run", "-n", "again", "--stage", "train", "-e", "box");
        assertThat(again.code()).as(again.out() + again.err()).isZero();
        assertThat(DvcProjectTest.log(project, "again")).doesNotContain("Running stage");
        assertThat(dataOnHost(remote)).isEqualTo(before);
        try (java.util.stream.Stream<Path> onHost = Files.walk(remote.resolve("runs"))) {
            assertThat(onHost.filter(p -> p.endsWith(".dvc/cache")).toList()).as("a work copy's own DVC cache").isEmpty();
        }
    }

    private static boolean sameBytes(Path file, byte[] data) {
        try {
            return Files.size(file) == data.length && java.util.Arrays.equals(Files.readAllBytes(file), data);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The files of the host's DVC cache and store, with when each was last written. */
    private static java.util.Map<Path, Long> dataOnHost(Path remote) throws Exception {
        java.util.Map<Path, Long> files = new java.util.TreeMap<>();
        for (Path dir : List.of(remote.resolve("cache/dvc"), remote.resolve("store"))) {
            if (Files.isDirectory(dir)) {
                try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
                    for (Path f : s.filter(Files::isRegularFile).toList()) {
                        files.put(remote.relativize(f), Files.getLastModifiedTime(f).toMillis());
                    }
                }
            }
        }
        return files;
    }

    @Test
    void aDvcLockThatCannotBeReadFailsTheStageRunOnAHostInsteadOfLeavingItRunning() throws Exception {
        TestProject project = DvcProjectTest.tutorial(tmp);
        project.write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box", sshd, tmp.resolve("host")))
                .write("dvc.lock", "schema: '2.0'\nstages: {prepare: [\n").commit();
        TestProject.Result run = project.sortie("run", "-n", "broken", "--stage", "train", "-e", "box");
        assertThat(run.code()).as(run.err()).isNotZero();
        assertThat(run.err()).containsPattern("dvc.lock:\\d+: not YAML DVC could read");
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.find("broken").orElseThrow().status().isTerminal()).isTrue();
        }
    }

    private static void assertUpToDate(TestProject project, String stage) throws Exception {
        assertThat(project.dir.resolve("model.pkl")).isRegularFile();
        assertThat(project.dir.resolve("data/features/train.txt")).isRegularFile();
        assertThat(project.read("dvc.lock")).contains("prepare:", "featurize:", "train:");
        String status = DvcProjectTest.dvc(project, "status", "--with-deps", stage);
        assertThat(status).as(status).contains("Data and pipelines are up to date");
        // the outs are in the user's DVC cache: removed from the workspace, DVC checks them out again
        Files.delete(project.dir.resolve("model.pkl"));
        DvcProjectTest.dvc(project, "checkout", "-q", stage);
        assertThat(project.dir.resolve("model.pkl")).isRegularFile();
    }
}
