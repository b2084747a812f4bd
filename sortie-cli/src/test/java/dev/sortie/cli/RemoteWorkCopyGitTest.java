package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On an ssh host (real sshd on loopback, the real agent) a run's work copy is a git checkout of its snapshot commit,
 * made by the agent without git: {@code git rev-parse}, {@code git status} and {@code git show} there see a clean
 * repository at the experiment's commit, as in a local run (WorkCopyGitTest).
 */
@Tag("integration")
class RemoteWorkCopyGitTest {
    @SshHost
    static SshdFixture sshd;

    @TempDir
    Path tmp;

    @AfterEach
    void killLeftovers() throws Exception {
        new ProcessBuilder("pkill", "-f", "AgentMain run " + tmp.resolve("host")).start().waitFor();
    }

    static final String PROBE = "echo top=$(git rev-parse --show-toplevel); echo head=$(git rev-parse HEAD);"
            + " echo status=[$(git status --porcelain)]; echo data=$(git show HEAD:sub/data.txt);"
            + " echo count=$(git ls-files | wc -l); echo log=$(git log --format=%H)";

    @Test
    void gitOnTheHostSeesACleanCheckoutOfTheExperimentsCommitRunAfterRun() throws Exception {
        Path remote = tmp.resolve("host");
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", "print('hi')\n").write("sub/data.txt", "x\n").write("run.sh", "#!/bin/sh\necho run\n")
                .write("sortie.yaml", "name: g\nrun: 'true'\nparams: {lr: 0.1}\n")
                .write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box", sshd, remote))
                .commit();
        project.dir.resolve("run.sh").toFile().setExecutable(true);
        Files.createSymbolicLink(project.dir.resolve("link"), Path.of("sub/data.txt"));
        project.write("train.py", "print('changed, not committed')\n").write("new.txt", "untracked\n");

        TestProject.Result r = project.sortie("run", "-e", "box", "-n", "g1", "--", "sh", "-c", PROBE);
        assertThat(r.code()).as(r.err()).isZero();
        Experiment e = find(project, "g1");
        String commit = e.code().snapshotCommit();
        assertThat(r.out()).contains("head=" + commit)
                .contains("status=[]")
                .contains("data=x")
                // only the snapshot commit is on the host: the repository is shallow there
                .contains("log=" + commit + "\n");
        assertThat(line(r.out(), "top=")).endsWith("/runs/" + e.id() + "/work").startsWith(remote.toRealPath().toString());
        assertThat(line(r.out(), "count=")).isEqualTo(project.git("ls-tree", "-r", "--name-only", commit).strip().lines().count() + "");

        // a second run of other code on the same host: a reused work folder, the shared objects, clean again
        project.write("sub/data.txt", "y\n");
        r = project.sortie("run", "-e", "box", "-n", "g2", "--", "sh", "-c", PROBE);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("head=" + find(project, "g2").code().snapshotCommit()).contains("status=[]").contains("data=y");
        // git's objects on the host are in one shared folder, each written once
        try (Stream<Path> s = Files.walk(remote.resolve("cache/git/objects"))) {
            assertThat(s.filter(Files::isRegularFile).filter(p -> p.toString().contains(".tmp"))).isEmpty();
        }
    }

    private static String line(String out, String prefix) {
        return out.lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow().substring(prefix.length());
    }

    private static Experiment find(TestProject project, String name) {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.find(name).orElseThrow();
        }
    }
}
