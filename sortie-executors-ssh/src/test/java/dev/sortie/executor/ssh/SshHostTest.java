package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.run.RemoteHost;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SshHostTest {
    @TempDir
    Path tmp;

    @Test
    void aHostThatJustDidNotAnswerIsNotAskedAgainAtOnce() throws Exception {
        Path key = tmp.resolve("key");
        Files.writeString(key, "not used: nothing listens");
        int port = SshdFixture.freePort();
        SshExecutorConfig config = SshExecutorConfig.fromOptions("dead", new YAMLMapper().readTree(
                "{type: ssh, host: 127.0.0.1, port: " + port + ", identity: " + key + ", connect_timeout: 2s}"));
        SshPaths paths = new SshPaths(tmp, tmp, tmp.resolve("config"), tmp.resolve("known_hosts"), "me");
        RemoteHost host = new SshExecutor(config, paths).host();
        SshConnectionException first = catchThrowableOfType(host::connection, SshConnectionException.class);
        assertThat(first.sshKind()).isEqualTo(SshConnectionException.Kind.UNREACHABLE);
        ChannelException second = catchThrowableOfType(host::connection, ChannelException.class);
        assertThat(second.kind()).isEqualTo(ChannelException.Kind.UNREACHABLE);
        assertThat(second.getCause()).as("the same answer, no second connect").isSameAs(first);
        assertThat(second.getMessage()).isEqualTo(first.getMessage());
    }
}
