package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * DVC-tracked data (added with real DVC: a file and a folder) is in a local run's work copy, copied from the
 * project's DVC cache by Sortie without starting DVC: also for a command that is not DVC and a PATH without dvc.
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class DvcDataCheckoutTest {

    @TempDir
    Path tmp;

    @Test
    void dvcTrackedFilesAndFoldersAreInTheWorkCopyWithoutDvcOnThePath() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("data/data.xml", "<rows>1</rows>\n").write("data/images/a.txt", "aaa\n")
                .write("data/images/sub/b.txt", "bbb\n").write("tools/prep.sh", "#!/bin/sh\necho prep\n");
        // DVC keeps the exec bit of a file it tracks alone (isexec), not of files in a tracked folder
        Files.setPosixFilePermissions(project.dir.resolve("tools/prep.sh"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        DvcProjectTest.dvc(project, "init", "-q");
        DvcProjectTest.dvc(project, "add", "-q", "data/data.xml");
        DvcProjectTest.dvc(project, "add", "-q", "data/images");
        DvcProjectTest.dvc(project, "add", "-q", "tools/prep.sh");
        project.write("sortie.yaml", """
                name: data
                run: cat data/data.xml data/images/a.txt data/images/sub/b.txt && tools/prep.sh
                env: {PATH: "/usr/bin:/bin"}
                """).commit();
        TestProject.Result r = project.sortie("run", "-n", "reads-data");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        String log = DvcProjectTest.log(project, "reads-data");
        assertThat(log).contains("<rows>1</rows>").contains("aaa").contains("bbb").contains("prep").doesNotContain("dvc checkout");
    }

    @Test
    void aPipelineThatHasNeverRunGetsItsDataFromDvcCheckoutWithNoFailureInTheLog() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("data/data.xml", "<rows>2</rows>\n").write("dvc.yaml", """
                stages:
                  copy:
                    cmd: cp data/data.xml out.xml
                    deps: [data/data.xml]
                    outs: [out.xml]
                """);
        DvcProjectTest.dvc(project, "init", "-q");
        DvcProjectTest.dvc(project, "add", "-q", "data/data.xml");
        // links DVC makes itself: the checkout is DVC's, of a project with no dvc.lock (the stage's out has no data yet)
        DvcProjectTest.dvc(project, "config", "cache.type", "symlink");
        project.write("sortie.yaml", """
                name: never-ran
                run: cat data/data.xml
                env: {PATH: "%s:/usr/bin:/bin"}
                """.formatted(DvcVenv.BIN)).commit();
        TestProject.Result r = project.sortie("run", "-n", "first");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        String log = DvcProjectTest.log(project, "first");
        assertThat(log).contains("<rows>2</rows>").doesNotContain("dvc checkout exited");
    }
}
