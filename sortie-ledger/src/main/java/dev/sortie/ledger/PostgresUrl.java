package dev.sortie.ledger;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Where a PostgreSQL ledger is: {@code postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTION=VALUE&...]} (also
 * {@code postgres://}, as libpq reads it) or the driver's own {@code jdbc:postgresql://HOST[:PORT]/DATABASE?user=USER}.
 * The options go to the JDBC driver as they are ({@code sslmode=require}, {@code connectTimeout=5}, ...).
 *
 * <p>A password written in the URL is kept in {@link #password()} only: {@link #toString()} and {@link #redacted()},
 * what every message and record shows, leave it out.
 */
public record PostgresUrl(String host, int port, String database, String user, String password, Map<String, String> options) {
    public static final int DEFAULT_PORT = 5432;
    /** What a ledger URL looks like, for errors. */
    public static final String FORM = "postgresql://USER@HOST:PORT/DATABASE";

    public PostgresUrl {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        options = Map.copyOf(options);
    }

    /** Whether {@code text} is meant as a PostgreSQL URL (its scheme), well formed or not. */
    public static boolean isPostgres(String text) {
        String t = text.trim();
        return t.startsWith("postgresql://") || t.startsWith("postgres://") || t.startsWith("jdbc:postgresql:");
    }

    /**
     * Reads a URL of either form.
     *
     * @throws IllegalArgumentException saying what is wrong and what would be valid; the message never holds the
     *         password
     */
    public static PostgresUrl parse(String text) {
        String t = text.trim();
        String rest;
        boolean jdbc = false;
        if (t.startsWith("postgresql://")) {
            rest = t.substring("postgresql://".length());
        } else if (t.startsWith("postgres://")) {
            rest = t.substring("postgres://".length());
        } else if (t.startsWith("jdbc:postgresql://")) {
            rest = t.substring("jdbc:postgresql://".length());
            jdbc = true;
        } else {
            throw new IllegalArgumentException("not a PostgreSQL URL (expected " + FORM + ")");
        }
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        // the last '@' ends the user part: a password may hold one (percent-encoded or not)
        String user = null;
        String password = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            if (jdbc) {
                throw new IllegalArgumentException("a jdbc:postgresql: URL names its user as ?user=USER, not USER@HOST");
            }
            String userInfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = userInfo.indexOf(':');
            user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon), "user");
            password = colon < 0 ? null : decode(userInfo.substring(colon + 1), "password");
        }
        int slash = rest.indexOf('/');
        String hostPort = slash < 0 ? rest : rest.substring(0, slash);
        String database = slash < 0 ? "" : decode(rest.substring(slash + 1), "database");
        String host;
        String portText = null;
        if (hostPort.startsWith("[")) {
            int close = hostPort.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("the host '" + hostPort + "' opens '[' without closing it (an IPv6 address is written [::1])");
            }
            host = hostPort.substring(1, close);
            String after = hostPort.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new IllegalArgumentException("unexpected '" + after + "' after the host [" + host + "]");
                }
                portText = after.substring(1);
            }
        } else {
            int colon = hostPort.lastIndexOf(':');
            host = colon < 0 ? hostPort : hostPort.substring(0, colon);
            portText = colon < 0 ? null : hostPort.substring(colon + 1);
        }
        if (host.isEmpty() || host.contains(",")) {
            throw new IllegalArgumentException((host.isEmpty() ? "no host" : "several hosts are not supported")
                    + " (expected " + FORM + "; the ledger connects over TCP)");
        }
        int port = DEFAULT_PORT;
        if (portText != null) {
            try {
                port = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("the port '" + portText + "' is not a number from 1 to 65535");
            }
        }
        Map<String, String> options = new LinkedHashMap<>();
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = decode(eq < 0 ? pair : pair.substring(0, eq), "option");
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1), "option " + key);
                if (!key.matches("[A-Za-z][A-Za-z0-9_]*")) {
                    throw new IllegalArgumentException("the option '" + key + "' is not a name (expected ?NAME=VALUE&...)");
                }
                if (key.equals("user")) {
                    user = value;
                } else if (key.equals("password")) {
                    password = value;
                } else {
                    options.put(key, value);
                }
            }
        }
        if (user == null || user.isEmpty()) {
            throw new IllegalArgumentException("no user (expected " + FORM + (jdbc ? ", or jdbc:postgresql://HOST:PORT/DATABASE?user=USER" : "") + ")");
        }
        if (database.isEmpty()) {
            throw new IllegalArgumentException("no database (expected " + FORM + ")");
        }
        return new PostgresUrl(host, port, database, user, password, options);
    }

    private static String decode(String s, String what) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            // the text itself may be a password: say where, not what
            throw new IllegalArgumentException("the " + what + " has a malformed %-escape");
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private String hostForUrl() {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    /** The URL for the JDBC driver, without user or password (they go as connection properties). */
    public String jdbcUrl() {
        String opts = options.entrySet().stream().map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&"));
        return "jdbc:postgresql://" + hostForUrl() + ":" + port + "/" + encode(database) + (opts.isEmpty() ? "" : "?" + opts);
    }

    /** The URL as messages and records show it: {@code postgresql://USER@HOST:PORT/DATABASE}, never the password. */
    public String redacted() {
        return "postgresql://" + encode(user) + "@" + hostForUrl() + ":" + port + "/" + encode(database);
    }

    /** The same as {@link #redacted()}: a record's default would print the password. */
    @Override
    public String toString() {
        return redacted();
    }
}
