package dev.sortie.executor.ssh;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;

/**
 * Logs in to one executor host from a terminal: run by {@link PassphrasePromptIntegrationTest} under {@code script}
 * (a real pseudo-terminal), so that {@code System.console()} exists and key passphrases are asked for.
 * Arguments: home, ssh config file, known_hosts, host alias, and "quiet" for a login that may not ask (a warm-up).
 */
public final class PromptingLogin {
    private PromptingLogin() {
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        SshPaths paths = new SshPaths(home, home.resolve(".ssh"), Path.of(args[1]), Path.of(args[2]), System.getProperty("user.name"));
        SshExecutorConfig config = SshExecutorConfig.fromOptions("prompt", new ObjectMapper().createObjectNode().put("host", args[3]));
        boolean mayAsk = args.length < 5 || !args[4].equals("quiet");
        try (SshConnection c = SshConnection.open(config, paths, mayAsk)) {
            System.out.println("logged in as " + c.exec(List.of("id", "-un"), java.time.Duration.ofSeconds(30)).stdout().strip());
        } catch (SshConnectionException e) {
            System.out.println("failed: [" + e.sshKind() + "] " + e.getMessage());
            System.exit(1);
        }
    }
}
