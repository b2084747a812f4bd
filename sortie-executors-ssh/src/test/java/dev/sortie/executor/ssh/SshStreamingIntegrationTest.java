package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The streaming commands of SshConnection against a real OpenSSH sshd on loopback. */
@Tag("integration")
class SshStreamingIntegrationTest {
    private static final Duration IDLE = Duration.ofSeconds(30);
    @Sshd
    private static SshdFixture sshd;
    private static SshConnection c;

    @BeforeAll
    static void start() throws Exception {
        c = TransferFixture.connect(sshd);
    }

    @AfterAll
    static void stop() throws Exception {
        if (c != null) {
            c.close();
        }
    }

    @Test
    void stdinGoesThroughAndStdoutComesBackByteForByte() throws Exception {
        byte[] data = TransferFixture.random(new Random(1), 20 << 20); // far more than a channel window
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostChannel.Result r = c.exec(List.of("cat"), stdin -> stdin.write(data), out, IDLE);
        assertThat(r.exitCode()).isZero();
        assertThat(out.toByteArray()).isEqualTo(data);

        ByteArrayOutputStream viaStream = new ByteArrayOutputStream();
        assertThat(c.exec(List.of("sha256sum"), new ByteArrayInputStream(data), viaStream, IDLE).ok()).isTrue();
        assertThat(viaStream.toString(StandardCharsets.US_ASCII)).startsWith(TransferFixture.sha256(data));
    }

    @Test
    void theCallerCanPullStdoutAndStderrIsKept() throws Exception {
        byte[][] got = new byte[1][];
        HostChannel.Result r = c.exec(List.of("sh", "-c", "head -c 5000000 /dev/zero; echo warn >&2; exit 4"),
                stdin -> { }, (HostChannel.StdoutReader) in -> got[0] = in.readAllBytes(), IDLE);
        assertThat(r.exitCode()).isEqualTo(4);
        assertThat(r.stderr()).isEqualTo("warn\n");
        assertThat(got[0]).hasSize(5_000_000);
        // a reader that stops early: the rest is drained and the command still ends
        HostChannel.Result r2 = c.exec(List.of("sh", "-c", "head -c 9000000 /dev/zero"), stdin -> { },
                (HostChannel.StdoutReader) in -> in.readNBytes(10), IDLE);
        assertThat(r2.exitCode()).isZero();
    }

    @Test
    void aCommandThatExitsWithoutReadingItsInputReportsItsExitStatus() throws Exception {
        byte[] data = new byte[16 << 20];
        HostChannel.Result r = c.exec(List.of("sh", "-c", "echo no thanks >&2; exit 3"), stdin -> stdin.write(data),
                OutputStream.nullOutputStream(), IDLE);
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stderr()).isEqualTo("no thanks\n");
    }

    @Test
    void aFailingWriterAbortsTheCommandWithItsOwnError() throws Exception {
        assertThatThrownBy(() -> c.exec(List.of("cat"), stdin -> {
            stdin.write(new byte[100_000]);
            throw new IOException("local disk gone (test)");
        }, OutputStream.nullOutputStream(), IDLE)).isInstanceOf(IOException.class).hasMessage("local disk gone (test)");
        assertThat(c.exec(List.of("true"), IDLE).ok()).as("the connection is fine").isTrue();
    }

    @Test
    void aCommandThatMovesNoDataForTheIdleTimeoutIsStopped() throws Exception {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> c.exec(List.of("sleep", "30"), stdin -> { }, OutputStream.nullOutputStream(), Duration.ofSeconds(1)))
                .isInstanceOfSatisfying(SshConnectionException.class, e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.TIMEOUT))
                .hasMessageContaining(c.target().display()).hasMessageContaining("moved no data for 1s");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        // output keeps it alive however long it runs
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostChannel.Result r = c.exec(List.of("sh", "-c", "for i in 1 2 3 4; do echo $i; sleep 0.5; done"), stdin -> { }, out,
                Duration.ofSeconds(1));
        assertThat(r.ok()).isTrue();
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("1\n2\n3\n4\n");
    }

    @Test
    void aLostConnectionIsReportedAsSuch() throws Exception {
        SshConnection other = TransferFixture.connect(sshd);
        Thread closer = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            other.close();
        });
        closer.start();
        assertThatThrownBy(() -> other.exec(List.of("cat"), stdin -> {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < 100_000; i++) {
                stdin.write(chunk);
            }
        }, OutputStream.nullOutputStream(), IDLE)).isInstanceOfSatisfying(SshConnectionException.class,
                e -> assertThat(e.sshKind()).isEqualTo(SshConnectionException.Kind.DISCONNECTED))
                .hasMessageContaining("lost the connection to " + other.target().display());
        closer.join();
    }
}
