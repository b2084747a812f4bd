package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Executors configured in .sortie/config.yaml, as the CLI shows and checks them. */
@Tag("integration")
class ExecutorCommandTest {
    @TempDir
    Path tmp;

    @Test
    void listTestAndRunReportBadConfigAndUnreachableHostsClearly() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("README", "x\n").commit();
        project.sortie("init");
        project.write(".sortie/config.yaml", """
                executors:
                  closed: {type: ssh, host: 127.0.0.1, port: 1, identity: %s}
                  typo: {type: ssh, hots: gpu1}
                """.formatted(tmp.resolve("no-such-key")));
        TestProject.Result list = project.sortie("executor", "list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains("local").contains("closed").contains("'executors.typo.hots'");

        TestProject.Result typo = project.sortie("executor", "test", "typo");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.err()).contains("did you mean 'host'");

        TestProject.Result closed = project.sortie("executor", "test", "closed");
        assertThat(closed.code()).isEqualTo(3);
        assertThat(closed.err()).contains("closed").contains("no-such-key");

        TestProject.Result run = project.sortie("run", "-n", "remote", "-e", "closed", "--", "true");
        // the host cannot be reached: the experiment fails with why, nothing stays "running"; the exit code says
        // the infrastructure failed, not the experiment (as 'executor test' does)
        assertThat(run.code()).isEqualTo(3);
        assertThat(run.err()).contains("remote failed").contains("could not start").contains("no-such-key");
        assertThat(project.sortie("show", "--columns", "name,status").out()).contains("failed");
    }

    @Test
    void addAndRemoveWriteTheProjectsConfigAfterCheckingTheSettings() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj2"));
        project.write("README", "x\n").commit();
        project.sortie("init");
        assertThat(project.sortie("executor", "add", "gpu1", "--type", "ssh", "--host", "127.0.0.1", "--port", "2222").code()).isZero();
        assertThat(project.read(".sortie/config.yaml")).contains("gpu1").contains("host: 127.0.0.1").contains("port: 2222");
        assertThat(project.sortie("executor", "list").out()).contains("gpu1").contains("ssh");
        TestProject.Result again = project.sortie("executor", "add", "gpu1", "--type", "ssh", "--host", "x");
        assertThat(again.code()).isEqualTo(2);
        assertThat(again.err()).contains("exists").contains("--force");
        TestProject.Result badType = project.sortie("executor", "add", "k", "--type", "kube", "--host", "x");
        assertThat(badType.code()).isEqualTo(2);
        assertThat(badType.err()).contains("unknown executor type 'kube'").contains("ssh");
        TestProject.Result noHost = project.sortie("executor", "add", "h", "--type", "ssh");
        assertThat(noHost.code()).isEqualTo(2);
        assertThat(noHost.err()).contains("host");
        assertThat(project.sortie("executor", "add", "local", "--type", "ssh", "--host", "x").code()).isEqualTo(2);
        assertThat(project.sortie("executor", "add", "bad name", "--type", "ssh", "--host", "x").code()).isEqualTo(2);
        assertThat(project.sortie("executor", "remove", "gpu1").code()).isZero();
        assertThat(project.read(".sortie/config.yaml")).doesNotContain("gpu1");
        assertThat(project.sortie("executor", "remove", "gpu1").code()).isEqualTo(2);
    }

    @Test
    void addAPoolOverSshExecutorsCheckedByName() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj3"));
        project.write("README", "x\n").commit();
        project.sortie("init");
        assertThat(project.sortie("executor", "add", "gpu1", "--type", "ssh", "--host", "10.0.0.1", "--remote-dir", "/scratch/sortie").code()).isZero();
        assertThat(project.sortie("executor", "add", "gpu2", "--type", "ssh", "--host", "10.0.0.2", "--lost-after", "10m").code()).isZero();
        TestProject.Result typo = project.sortie("executor", "add", "gpus", "--type", "pool", "--hosts", "gpu1,gpu3");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.err()).contains("executors.gpus.hosts[1]").contains("gpu3").contains("did you mean");
        TestProject.Result ok = project.sortie("executor", "add", "gpus", "--type", "pool", "--hosts", "gpu1,gpu2", "--gpus-per-slot", "2");
        assertThat(ok.code()).as(ok.err()).isZero();
        String config = project.read(".sortie/config.yaml");
        assertThat(config).contains("gpus").contains("pool").contains("gpus_per_slot").contains("/scratch/sortie").contains("10m");
        TestProject.Result list = project.sortie("executor", "list");
        assertThat(list.out()).contains("gpus").contains("pool");
        TestProject.Result status = project.sortie("status");
        assertThat(status.out()).contains("gpus").contains("10.0.0.1").contains("10.0.0.2").contains("idle");
    }
}
