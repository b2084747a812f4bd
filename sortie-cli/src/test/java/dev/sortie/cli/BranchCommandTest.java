package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("integration")
class BranchCommandTest {
    @TempDir
    Path tmp;

    @Test
    void aBranchAddsTheExperimentsChangesAndDeletesNothing() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", "print('v1')\n").write("sortie.yaml", "name: b\nrun: python3 train.py\nparams: {lr: 0.1}\n");
        assertThat(project.sortie("init").code()).isZero();
        project.commit(); // with .sortie/config.yaml and .sortie/.gitignore, as a team commits them
        assertThat(project.git("ls-files", ".sortie")).contains(".sortie/.gitignore");
        project.write("train.py", "print('v2')\n");
        assertThat(project.sortie("run", "-n", "exp", "-S", "lr=0.2").code()).isZero();

        TestProject.Result r = project.sortie("branch", "exp", "from-exp");
        assertThat(r.code()).as(r.err()).isZero();
        String changes = project.git("diff", "--name-status", "HEAD", "from-exp");
        assertThat(changes).contains("M\ttrain.py").contains("M\tsortie.yaml").doesNotContain("D\t");
        assertThat(project.git("ls-tree", "-r", "--name-only", "from-exp")).isEqualTo(
                project.git("ls-tree", "-r", "--name-only", "HEAD"));
    }
}
