package dev.sortie.cli.access;

import java.util.Map;
import java.util.Optional;

/**
 * The server the CLI talks to and the token it shows: from {@code SORTIE_SERVER} and {@code SORTIE_TOKEN} in the
 * environment (which win), else from the credentials file {@code sortie login} wrote. The token is never printed:
 * {@link #toString()} leaves it out.
 */
public record ServerLogin(String url, String token) {

    public ServerLogin {
        url = trimSlash(url);
    }

    /** The login in force, or empty for the local mode. A half-set environment (a token without a server) is an error. */
    public static Optional<ServerLogin> resolve(Map<String, String> env, CredentialsFile file) {
        String server = blankToNull(env.get("SORTIE_SERVER"));
        String token = blankToNull(env.get("SORTIE_TOKEN"));
        Optional<ServerLogin> saved = file.read();
        if (server != null) {
            String t = token != null ? token : saved.filter(s -> s.url().equals(trimSlash(server))).map(ServerLogin::token).orElse(null);
            if (t == null) {
                throw new dev.sortie.core.config.ConfigException("SORTIE_SERVER is " + server + " but there is no token for it: set SORTIE_TOKEN, or run 'sortie login "
                        + server + "'");
            }
            return Optional.of(new ServerLogin(server, t));
        }
        if (token != null && saved.isPresent()) {
            return Optional.of(new ServerLogin(saved.get().url(), token));
        }
        return saved;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static String trimSlash(String u) {
        String s = u.trim();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    @Override
    public String toString() {
        return "ServerLogin[" + url + "]";
    }
}
