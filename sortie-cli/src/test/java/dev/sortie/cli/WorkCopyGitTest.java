package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's work copy is a git checkout of its snapshot commit, so tools that ask git see that, clean. */
@Tag("integration")
class WorkCopyGitTest {
    @TempDir
    Path tmp;

    @Test
    void gitInsideARunSeesACleanCheckoutOfTheExperimentsCommit() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", "print('hi')\n").write("sub/data.txt", "x\n")
                .write("sortie.yaml", "name: g\nrun: 'true'\nparams: {lr: 0.1}\n").commit();
        project.write("train.py", "print('changed, not committed')\n").write("new.txt", "untracked\n");
        TestProject.Result r = project.sortie("run", "-n", "g1", "--", "sh", "-c",
                "echo top=$(git rev-parse --show-toplevel); echo head=$(git rev-parse HEAD); echo status=[$(git status --porcelain)]");
        assertThat(r.code()).as(r.err()).isZero();
        String commit;
        String id;
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("g1").orElseThrow();
            commit = e.code().snapshotCommit();
            id = e.id();
        }
        assertThat(r.out()).contains("top=" + project.dir.toRealPath().resolve(".sortie/runs/" + id + "/work"))
                .contains("head=" + commit)
                .contains("status=[]");
        // the user's repository is as it was: nothing registered, no branch, HEAD unchanged
        assertThat(project.git("status", "--porcelain")).contains(" M train.py").contains("?? new.txt");
        assertThat(project.git("worktree", "list")).hasLineCount(1);
    }
}
