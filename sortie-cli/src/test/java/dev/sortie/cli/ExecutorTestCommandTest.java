package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.executor.ssh.SshdFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sortie executor test} against a real sshd: the host report, and a remote_dir that cannot be written. */
@Tag("integration")
class ExecutorTestCommandTest {
    @SshHost
    static SshdFixture sshd;

    @TempDir
    Path tmp;

    @Test
    void reportsTheHostAndSaysWhatIsMissingWithTheFix() throws Exception {
        Path remoteDir = sshd.hostDir().resolve("sortie");
        Files.writeString(sshd.hostDir().resolve("a-file"), "not a folder");
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("README", "x\n").commit();
        project.sortie("init");
        project.write(".sortie/config.yaml", """
                executors:
                  box: {type: ssh, host: 127.0.0.1, port: %d, user: %s, identity: %s, remote_dir: %s}
                  blocked: {type: ssh, host: 127.0.0.1, port: %d, user: %s, identity: %s, remote_dir: %s}
                """.formatted(sshd.port, sshd.user, sshd.clientKey, remoteDir,
                sshd.port, sshd.user, sshd.clientKey, sshd.hostDir().resolve("a-file/sortie")));

        TestProject.Result box = project.sortie("executor", "test", "box");
        assertThat(box.out()).contains("host:   " + sshd.user + "@127.0.0.1:" + sshd.port)
                .contains("free in " + remoteDir + " (remote_dir)")
                .contains("java:").contains("ready:");
        assertThat(box.out()).doesNotContain("a writable remote_dir");
        assertThat(remoteDir).isDirectory();
        // ready (exit 0) exactly when this machine's Java is found over ssh and is new enough
        assertThat(box.code()).isEqualTo(box.out().contains("ready:  yes") ? 0 : 3);

        TestProject.Result blocked = project.sortie("executor", "test", "blocked");
        assertThat(blocked.code()).isEqualTo(3);
        assertThat(blocked.out()).contains("ready:  no, missing:")
                .contains("a writable remote_dir: " + sshd.hostDir().resolve("a-file/sortie") + ": cannot create it")
                .contains("set 'remote_dir:' on the executor");
    }
}
