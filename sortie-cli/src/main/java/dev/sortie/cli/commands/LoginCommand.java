package dev.sortie.cli.commands;

import dev.sortie.cli.access.CredentialsFile;
import dev.sortie.cli.access.ServerClient;
import dev.sortie.cli.access.ServerLogin;
import dev.sortie.core.config.ConfigException;
import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "login", mixinStandardHelpOptions = true,
        description = {"Point this user's sortie at a Sortie server: show, run, run --queue, queue, status, logs, stop, retry then go through it.",
                "Asks for the token without echo (or reads it from stdin with --token-stdin), checks it against the server, and keeps",
                "the URL and token in the user's credentials file (mode 0600; SORTIE_CREDENTIALS names another).",
                "SORTIE_SERVER and SORTIE_TOKEN in the environment win over it. 'sortie logout' goes back to the local ledger."},
        footer = {"", "Examples:", "  sortie login https://sortie.example.org:8080",
                "  printf '%s\\n' \"$TOKEN\" | sortie login http://127.0.0.1:8080 --token-stdin"})
public final class LoginCommand implements Callable<Integer> {
    @Parameters(paramLabel = "URL", description = "The server, e.g. https://sortie.example.org:8080 (what 'sortie server' printed).")
    String url;

    @Option(names = "--token-stdin", description = "Read the token from the first line of stdin (for scripts) instead of asking.")
    boolean tokenStdin;

    @Override
    public Integer call() throws Exception {
        if (!url.matches("https?://[^\\s/]+(/\\S*)?")) {
            throw new IllegalArgumentException("'" + url + "': expected the server's URL, http://HOST:PORT or https://HOST:PORT");
        }
        String token = tokenStdin ? firstLineOfStdin() : askWithoutEcho();
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("no token given: make one on the server's machine with 'sortie server token create --name NAME'");
        }
        ServerLogin login = new ServerLogin(url, token.trim());
        // a wrong token or a server that does not answer fails here, before anything is saved
        new ServerClient(login).get("/experiments?limit=0");
        CredentialsFile file = CredentialsFile.of(System.getenv());
        file.write(login);
        System.err.println("sortie: logged in to " + login.url() + " (the token is kept in " + file.path() + ", readable only by you)");
        String env = System.getenv("SORTIE_SERVER");
        if (env != null && !env.isBlank() && !new ServerLogin(env, "-").url().equals(login.url())) {
            System.err.println("sortie: note: SORTIE_SERVER=" + env + " in the environment wins over this login");
        }
        return 0;
    }

    private static String firstLineOfStdin() throws java.io.IOException {
        return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }

    private String askWithoutEcho() {
        Console console = System.console();
        if (console == null) {
            throw new ConfigException("no terminal to ask for the token on: pass it on stdin with --token-stdin");
        }
        char[] typed = console.readPassword("Token for %s: ", url);
        return typed == null ? null : new String(typed);
    }
}
