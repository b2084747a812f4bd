package dev.sortie.ledger;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for the tests, started by the project's own script ({@code testkit/postgres/pg.sh}: Debian's
 * {@code postgresql} package, a fresh cluster in a temp folder, 127.0.0.1 on a free port, password authentication) and
 * stopped by {@link #close()}, or by the JVM's end however it ends (pg.sh serve watches its stdin). Each test class takes a fresh database of its own from it ({@link #newDatabase()}).
 */
public final class PostgresServer implements AutoCloseable {
    public static final String USER = "sortie";
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Path dir;
    private final Path script;
    private final int port;
    private final String password;
    /** pg.sh serve: it stops the server once its stdin closes, by {@link #close()} or by this JVM's end. */
    private final Process serve;
    private final BufferedReader serveOutput;

    private PostgresServer(Path dir, Path script, int port, String password, Process serve, BufferedReader serveOutput) {
        this.dir = dir;
        this.script = script;
        this.port = port;
        this.password = password;
        this.serve = serve;
        this.serveOutput = serveOutput;
    }

    /** Starts a server, or throws {@link IllegalStateException} saying why it could not. */
    static PostgresServer start() throws IOException, InterruptedException {
        Path script = findScript();
        // Under a folder everyone can reach: as root the cluster belongs to another user (PostgreSQL refuses root).
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "sortie-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        // a password with characters a URL must escape, so the tests cover them
        String password = "pw:" + HexFormat.of().formatHex(randomBytes(8)) + "@/%";
        String last = "";
        for (int attempt = 1; attempt <= 3; attempt++) {
            int port = freePort();
            Path cluster = dir.resolve("pg-" + attempt);
            // 'serve' stays while this JVM holds its stdin: a JVM killed mid-run takes its server with it
            Process p = new ProcessBuilder(script.toString(), "serve", cluster.toString(), Integer.toString(port), password)
                    .redirectErrorStream(true).start();
            StringBuilder out = new StringBuilder();
            BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.equals("ready")) {
                    return new PostgresServer(cluster, script, port, password, p, lines);
                }
                out.append(line).append('\n');
            }
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                last = "pg.sh serve did not end within 120 s after it closed its output";
            } else {
                last = "pg.sh serve exited " + p.exitValue() + ": " + out.toString().strip();
            }
            // a port taken between the probe and the start is the one failure worth another try
            stop(script, cluster);
        }
        deleteTree(dir);
        throw new IllegalStateException(last);
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static Path findScript() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("testkit/postgres/pg.sh");
            if (Files.isExecutable(s)) {
                return s;
            }
        }
        throw new IllegalStateException("testkit/postgres/pg.sh not found above " + Path.of("").toAbsolutePath());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public int port() {
        return port;
    }

    public String password() {
        return password;
    }

    /** A URL of a database on this server, without the password (tests give it the ways a user would). */
    public PostgresUrl url(String database) {
        return new PostgresUrl("127.0.0.1", port, database, USER, null, Map.of());
    }

    /** The same URL with the password written in it. */
    public PostgresUrl urlWithPassword(String database) {
        return new PostgresUrl("127.0.0.1", port, database, USER, password, Map.of());
    }

    /**
     * A new empty database, for one test class or one test. Its text sorts as a team's server's would, in a language's
     * order (ICU's en-US: "a" before "B"), not by code point, so the tests see the ledger keep its own order; C.UTF-8
     * where this PostgreSQL was built without ICU.
     */
    public PostgresUrl newDatabase() throws SQLException {
        String name = "ledger_" + DATABASES.incrementAndGet() + "_" + ProcessHandle.current().pid();
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            try {
                s.execute("CREATE DATABASE " + name + " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'");
            } catch (SQLException noIcu) {
                s.execute("CREATE DATABASE " + name);
            }
        }
        return url(name);
    }

    /** A plain connection as the superuser, beside the ledger's own. */
    public Connection connect(String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("password", password);
        return new org.postgresql.Driver().connect(url(database).jdbcUrl(), props);
    }

    /** The cluster's folder (its data, socket and log). */
    Path clusterDir() {
        return dir;
    }

    @Override
    public void close() throws IOException {
        try {
            serve.getOutputStream().close();
            String said = serveOutput.lines().collect(java.util.stream.Collectors.joining("\n"));
            if (!serve.waitFor(90, TimeUnit.SECONDS) || serve.exitValue() != 0) {
                serve.destroyForcibly();
                stop(script, dir);
                throw new IllegalStateException("pg.sh serve " + dir + " did not stop cleanly: " + said.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping PostgreSQL in " + dir, e);
        } finally {
            deleteTree(dir.getParent());
        }
    }

    private static void stop(Path script, Path cluster) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(script.toString(), "stop", cluster.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("pg.sh stop " + cluster + " failed: " + out.strip());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
