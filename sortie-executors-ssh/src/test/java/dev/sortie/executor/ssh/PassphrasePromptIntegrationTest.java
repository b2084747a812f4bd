package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.executor.remote.channel.ShellQuote;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A passphrase-protected key used from a real terminal (a pseudo-terminal made by util-linux {@code script}): the
 * passphrase is asked for once per key, even when the same key logs in to a ProxyJump host and the host behind it,
 * and it is neither echoed nor put in any message.
 */
@Tag("integration")
class PassphrasePromptIntegrationTest {
    private static final String PASSPHRASE = "s3cret-Passphrase";
    private static final String PROMPT = "Enter passphrase for key";
    @Sshd
    private static SshdFixture jump;
    @Sshd
    private static SshdFixture target;
    private static Path key;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux script is needed for a pseudo-terminal");
        key = SshdFixture.keygen(Files.createTempDirectory(jump.dir, "key"), "locked_ed25519", PASSPHRASE);
        jump.authorize(Path.of(key + ".pub"));
        target.authorize(Path.of(key + ".pub"));
    }

    private static SshPaths paths() throws Exception {
        SshPaths paths = target.paths(jump.knownHostsLine() + target.knownHostsLine());
        Files.writeString(paths.configFile(), String.join("\n",
                "Host bastion",
                "  HostName 127.0.0.1",
                "  Port " + jump.port,
                "  IdentityFile " + key,
                "Host gpu-behind",
                "  HostName 127.0.0.1",
                "  Port " + target.port,
                "  IdentityFile " + key,
                "  ProxyJump bastion",
                ""));
        return paths;
    }

    /** Runs {@link PromptingLogin} in a pseudo-terminal, typing {@code typed} at each passphrase prompt. */
    private static String loginTyping(String typed) throws Exception {
        return loginTyping(typed, "ask");
    }

    private static String loginTyping(String typed, String mode) throws Exception {
        SshPaths paths = paths();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = ProcessHandle.current().info().command().orElse("java");
        String command = ShellQuote.join(List.of(java, "-cp", cp, PromptingLogin.class.getName(), paths.home().toString(),
                paths.configFile().toString(), paths.knownHosts().toString(), "gpu-behind", mode));
        Process p = new ProcessBuilder("script", "-qec", command, "/dev/null").redirectErrorStream(true).start();
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        int answered = 0;
        try (InputStream in = p.getInputStream(); OutputStream keyboard = p.getOutputStream()) {
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) {
                seen.write(buf, 0, n);
                String text = seen.toString(StandardCharsets.UTF_8);
                if (prompts(text) > answered) {
                    answered++;
                    keyboard.write((typed + "\n").getBytes(StandardCharsets.UTF_8));
                    keyboard.flush();
                }
            }
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return seen.toString(StandardCharsets.UTF_8);
    }

    private static int prompts(String text) {
        int count = 0;
        for (int i = text.indexOf(PROMPT); i >= 0; i = text.indexOf(PROMPT, i + 1)) {
            count++;
        }
        return count;
    }

    @Test
    void asksOnceForAKeyUsedByTheJumpHostAndTheTarget() throws Exception {
        String out = loginTyping(PASSPHRASE);
        assertThat(out).contains("logged in as " + target.user);
        assertThat(prompts(out)).as(out).isEqualTo(1);
        assertThat(out).contains(PROMPT + " '" + key + "'").doesNotContain(PASSPHRASE);
    }

    @Test
    void aLoginThatMayNotAskSkipsTheKeyWithoutAPromptEvenOnATerminal() throws Exception {
        // the warm-up's login in the background: it must not print a prompt between the CLI's lines
        String out = loginTyping(PASSPHRASE, "quiet");
        assertThat(prompts(out)).as(out).isZero();
        assertThat(out).contains("failed: [AUTH_FAILED]").doesNotContain("logged in");
    }

    @Test
    void aWrongPassphraseSkipsTheKeyAndSaysSo() throws Exception {
        String wrong = "not-the-Passphrase";
        String out = loginTyping(wrong);
        assertThat(out).contains("failed: [AUTH_FAILED]").contains("jump host").contains(key.toString())
                .contains("the passphrase given for it is wrong");
        assertThat(prompts(out)).as(out).isEqualTo(1);
        assertThat(out).doesNotContain(wrong).doesNotContain(PASSPHRASE);
    }
}
