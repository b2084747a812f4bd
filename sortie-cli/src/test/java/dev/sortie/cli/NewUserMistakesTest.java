package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a new user tried on a DVC project (issue 13, "also found"): each gets a result they can act on. */
@Tag("integration")
class NewUserMistakesTest {
    @TempDir
    Path tmp;

    @Test
    void aCommittedMetricsFileTheRunNeverTouchedRecordsNothing() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("m.json", "{\"acc\": 0.42}\n")
                .write("sortie.yaml", "name: p\nrun: 'true'\nmetrics: [m.json]\n").commit();
        TestProject.Result r = project.sortie("run", "-n", "untouched", "--", "true");
        assertThat(r.code()).as(r.err()).isZero();
        TestProject.Result w = project.sortie("run", "-n", "wrote", "--", "sh", "-c", "echo '{\"acc\": 0.5}' > m.json");
        assertThat(w.code()).as(w.err()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment untouched = l.find("untouched").orElseThrow();
            assertThat(l.latestMetrics(untouched.id())).isEmpty();
            assertThat(l.latestMetrics(l.find("wrote").orElseThrow().id())).containsEntry("acc", 0.5);
        }
    }

    @Test
    void aNestedMetricTypedWithTheOldSlashesGetsDvcsDottedNameSuggested() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: p\nrun: 'true'\nmetrics: [m.json]\n").commit();
        TestProject.Result r = project.sortie("run", "-n", "nested", "--", "sh", "-c",
                "echo '{\"roc_auc\": {\"test\": 0.9, \"train\": 0.95}, \"x\": {\"y\": {\"z\": 0.7}}}' > m.json");
        assertThat(r.code()).as(r.err()).isZero();
        TestProject.Result filter = project.sortie("show", "--filter", "roc_auc/test>0.5");
        assertThat(filter.code()).isEqualTo(2);
        assertThat(filter.err()).contains("no column 'roc_auc/test'; did you mean 'roc_auc.test'?");
        TestProject.Result deep = project.sortie("show", "--sort-by", "x/y/z"); // however many levels, however short
        assertThat(deep.code()).isEqualTo(2);
        assertThat(deep.err()).contains("did you mean 'x.y.z'?");
    }

    @Test
    void aFilterWhoseValueIsNoNumberForAMetricIsAUsageError() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: p\nrun: echo loss=0.5\n").commit();
        assertThat(project.sortie("run", "-n", "one").code()).isZero();
        TestProject.Result text = project.sortie("show", "--filter", "loss<abc");
        assertThat(text.code()).isEqualTo(2);
        assertThat(text.err()).contains("loss<abc").contains("expected a number after '<'");
        TestProject.Result twice = project.sortie("show", "--filter", "loss<<0.3");
        assertThat(twice.code()).isEqualTo(2);
        assertThat(twice.err()).contains("loss<<0.3").contains("expected a value after '<'");
        TestProject.Result fine = project.sortie("show", "--filter", "loss<0.6", "--filter", "name~on");
        assertThat(fine.code()).isZero();
        assertThat(fine.out()).contains("one");
    }

    @Test
    void aMistypedCommandAndAMistypedParamKeyGetADidYouMean() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: p\nrun: echo ${lr}\nparams: {lr: 0.1, train: {epochs: 2}}\n").commit();
        TestProject.Result rnu = project.sortie("rnu");
        assertThat(rnu.code()).isEqualTo(2);
        assertThat(rnu.err()).contains("Did you mean: sortie run?");
        TestProject.Result key = project.sortie("run", "-S", "train.epoch=3");
        assertThat(key.code()).isEqualTo(2);
        assertThat(key.err()).contains("unknown param 'train.epoch'").contains("did you mean 'train.epochs'?");
    }

    @Test
    void aCommaListWithoutQueueSaysItIsAGridAndAnEscapedCommaIsOneValue() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: p\nrun: echo lr=[${lr}]\nparams: {lr: 0.1}\n").commit();
        TestProject.Result grid = project.sortie("run", "-S", "lr=0.1,0.2");
        assertThat(grid.code()).isEqualTo(2);
        assertThat(grid.err()).contains("-S lr=0.1,0.2: a comma list is a grid of 2 values")
                .contains("sortie run --queue -S lr=0.1,0.2").contains("-S 'lr=0.1\\,0.2'");
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.list()).isEmpty(); // nothing ran
        }
        TestProject.Result literal = project.sortie("run", "-n", "lit", "-S", "lr=a\\,b");
        assertThat(literal.code()).as(literal.err()).isZero();
        assertThat(literal.out()).contains("lr=[a,b]");
    }

    @Test
    void runHelpShowsTheExamplesPlaceholderNotNull() throws Exception {
        TestProject.Result help = new TestProject(tmp.resolve("help")).sortie("run", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("--lr '${lr}'").doesNotContain("'null'");
    }

    @Test
    void diffPrintsTheCodeDiffOfTheTwoSnapshots() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: p\nrun: python3 train.py\n")
                .write("train.py", "print('loss=0.5')\n").write("data.txt", "same\n").commit();
        assertThat(project.sortie("run", "-n", "before").code()).isZero();
        project.write("train.py", "print('loss=0.25')\n"); // uncommitted, as a user tries things
        assertThat(project.sortie("run", "-n", "after").code()).isZero();
        TestProject.Result diff = project.sortie("diff", "before", "after");
        assertThat(diff.code()).isZero();
        assertThat(diff.out()).contains("metric").contains("loss")
                .contains("diff --git a/train.py b/train.py").contains("-print('loss=0.5')").contains("+print('loss=0.25')")
                .doesNotContain("data.txt");
        assertThat(diff.err()).doesNotContain("git diff");
        assertThat(project.sortie("diff", "before", "after", "--no-code").out()).doesNotContain("diff --git");
    }

    @Test
    void aCommandAfterDashDashHasOnlyTheParamsItNamesOrSets() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: p\nrun: echo ${lr}\nparams: {lr: 0.1, lr_decay: 0.9, train: {epochs: 3, bs: 8}}\n").commit();
        assertThat(project.sortie("run", "-n", "none", "--", "true").code()).isZero();
        assertThat(project.sortie("run", "-n", "named", "--", "sh", "-c", "echo ${lr} ${train} $SORTIE_PARAM_LR_DECAY").code()).isZero();
        assertThat(project.sortie("run", "-n", "set", "-S", "train.bs=16", "--", "true").code()).isZero();
        TestProject.Result all = project.sortie("run", "-n", "file", "--", "sh", "-c", "cat \"$SORTIE_PARAMS_FILE\"");
        assertThat(all.code()).isZero();
        assertThat(project.sortie("run", "-n", "task").code()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.find("none").orElseThrow().params().flatten()).isEmpty();
            assertThat(l.find("named").orElseThrow().params().flatten())
                    .containsOnlyKeys("lr", "lr_decay", "train.epochs", "train.bs");
            assertThat(l.find("set").orElseThrow().params().flatten()).containsExactly(java.util.Map.entry("train.bs", 16L));
            assertThat(l.find("file").orElseThrow().params().flatten()).hasSize(4);
            assertThat(l.find("task").orElseThrow().params().flatten()).hasSize(4); // the task's own run: line has them all
        }
        assertThat(all.out()).contains("lr: 0.1").contains("epochs: 3");
        TestProject.Result shown = project.sortie("show", "--json");
        assertThat(shown.out()).contains("\"lr\" : null");
    }
}
