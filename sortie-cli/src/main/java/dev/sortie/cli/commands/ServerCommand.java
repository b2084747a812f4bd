package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.sortie.cli.CliContext;
import dev.sortie.cli.Main;
import dev.sortie.cli.output.Table;
import dev.sortie.core.engine.ProjectPaths;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.store.StoreConfig;
import dev.sortie.core.store.StoreSpec;
import dev.sortie.server.LedgerLocation;
import dev.sortie.server.ServerContext;
import dev.sortie.server.ServerDatabase;
import dev.sortie.server.SortieServer;
import dev.sortie.server.TlsSettings;
import dev.sortie.server.Tokens;
import dev.sortie.store.LocalBlobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "server", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The team server: the JSON API (sortie-server/API.md) with bearer tokens,",
                "and queue workers that drain the queue to the configured executors.",
                "With no options: a SQLite ledger and a local store in a folder of its own,",
                "on 127.0.0.1:8080. Its executors: 'sortie -C FOLDER executor add ...'."},
        subcommands = {ServerCommand.TokenCommand.class})
public final class ServerCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Mixin
    Where where = new Where();

    @Option(names = "--port", paramLabel = "N", description = "Port to listen on (default: 8080; 0: any free port).")
    int port = 8080;

    @Option(names = "--bind", paramLabel = "ADDR", description = "Address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface).")
    String bind = "127.0.0.1";

    @Option(names = "--store", paramLabel = "URL", description = "The store: a folder, or s3://bucket/prefix (default: the folder's own).")
    String store;

    @Option(names = "--workers", paramLabel = "N", description = "Runs at a time per executor that queue workers start (default: 1; 0: no workers).")
    int workers = 1;

    @Option(names = "--tls-keystore", paramLabel = "FILE", description = "Serve HTTPS with the key and certificate in this PKCS#12 keystore.")
    Path tlsKeystore;

    @Option(names = "--tls-password-env", paramLabel = "VAR", description = "The environment variable holding the keystore's password.")
    String tlsPasswordEnv;

    /** Where the server keeps its state: shared by the server and its token commands. */
    static final class Where {
        @Option(names = "--dir", paramLabel = "FOLDER", description = "The server's folder: ledger, store, run logs, executors' config"
                + " (default: $XDG_DATA_HOME/sortie/server or ~/.local/share/sortie/server).")
        Path dir;

        @Option(names = "--db", paramLabel = "URL", description = "The ledger: a SQLite file, or postgresql://... (default: the folder's own SQLite file).")
        String db;

        ProjectPaths paths() {
            Path d = dir != null ? dir : defaultDir();
            ProjectPaths p = new ProjectPaths(d);
            try {
                Files.createDirectories(p.stateDir());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the server's folder " + p.stateDir() + ": " + e.getMessage(), e);
            }
            return p;
        }

        LedgerLocation ledger(ProjectPaths p) {
            return LedgerLocation.parse(db, p.ledgerFile());
        }

        static Path defaultDir() {
            String xdg = System.getenv("XDG_DATA_HOME");
            Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
            return base.resolve("sortie").resolve("server");
        }
    }

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port " + port + ": expected 0 to 65535");
        }
        if (workers < 0) {
            throw new IllegalArgumentException("--workers " + workers + ": expected 0 or more");
        }
        TlsSettings tls = TlsSettings.of(tlsKeystore, tlsPasswordEnv);
        if (tls == null && !loopback(bind)) {
            System.err.println("sortie server: warning: listening on " + bind + " without TLS: tokens cross the network in clear text"
                    + " (--tls-keystore, or a TLS proxy in front)");
        }
        ProjectPaths paths = where.paths();
        LedgerLocation location = where.ledger(paths);
        CliContext context = main.contextAt(paths.projectDir());
        context.openWith(location::open, store == null ? null : () -> openStore(store));
        Tokens tokens = new Tokens(ServerDatabase.open(location), Clock.systemUTC());
        ServerContext server = new ServerContext(context.paths(), context.service(), context.store(), tokens);
        if (tokens.list().isEmpty()) {
            System.err.println("sortie server: no tokens yet: make one with 'sortie server token create --name NAME"
                    + (where.dir == null ? "" : " --dir " + paths.projectDir()) + "'");
        }
        CountDownLatch stop = new CountDownLatch(1);
        try (SortieServer running = SortieServer.start(server, bind, port, tls, workers);
                Interrupts interrupts = Interrupts.install("sortie-server", stop::countDown, stop::countDown)) {
            System.err.println("sortie server: folder " + paths.projectDir() + ", ledger " + location.describe()
                    + (workers == 0 ? ", no queue workers" : ", draining the queue to " + String.join(", ", running.drainedExecutors())
                    + " (" + workers + " at a time each)"));
            String host = bind.contains(":") ? "[" + bind + "]" : bind;
            System.out.println("sortie server: listening on " + (tls == null ? "http" : "https") + "://" + host + ":" + running.port());
            System.out.flush();
            stop.await();
            System.err.println("sortie server: stopping: no more runs are started; runs on remote hosts go on and are collected later");
        }
        return 0;
    }

    private static boolean loopback(String bind) {
        try {
            return java.net.InetAddress.getByName(bind).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false; // Jetty says so when it binds
        }
    }

    private static BlobStore openStore(String url) {
        if (!url.contains("://")) {
            return new LocalBlobStore(Path.of(url).toAbsolutePath().normalize());
        }
        StoreSpec spec = new StoreSpec(url, JsonNodeFactory.instance.objectNode(), null, "--store");
        try {
            return StoreConfig.fromClassPath().provider(spec).open(spec);
        } catch (IOException e) {
            throw new UncheckedIOException("--store " + url + ": " + e.getMessage(), e);
        }
    }

    @Command(name = "token", mixinStandardHelpOptions = true, description = "The server's API tokens.",
            subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
    static final class TokenCommand {
        static Tokens tokens(Where where) {
            ProjectPaths p = where.paths();
            return new Tokens(ServerDatabase.open(where.ledger(p)), Clock.systemUTC());
        }

        @Command(name = "create", mixinStandardHelpOptions = true,
                description = "Make a token; it is printed once, as the last line (only its hash is kept).")
        static final class Create implements Callable<Integer> {
            @Mixin
            Where where = new Where();

            @Option(names = "--name", required = true, paramLabel = "NAME", description = "Whose or what it is for (a person, an agent pool).")
            String name;

            @Option(names = "--read-only", description = "It may only read: writes get 403.")
            boolean readOnly;

            @Override
            public Integer call() {
                String token = tokens(where).create(name, readOnly);
                System.err.println("sortie: token '" + name + "' created (" + (readOnly ? "read-only" : "read-write")
                        + "); it is shown this once: keep it (SORTIE_TOKEN)");
                System.out.println(token);
                return 0;
            }
        }

        @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true, description = "The tokens: name, created, last used, read-only (never the token).")
        static final class ListTokens implements Callable<Integer> {
            @Mixin
            Where where = new Where();

            @ArgGroup(exclusive = true)
            OutputFormat format;

            @Override
            public Integer call() {
                List<Tokens.Token> all = tokens(where).list();
                Table t = new Table(List.of("name", "created", "last_used", "read_only"));
                for (Tokens.Token tok : all) {
                    t.add(java.util.Arrays.asList(tok.name(), tok.created(), tok.lastUsed(), tok.readOnly()));
                }
                Table.Format f = OutputFormat.of(format);
                if (all.isEmpty() && f == Table.Format.TEXT) {
                    System.err.println("no tokens: make one with 'sortie server token create --name NAME'");
                    return 0;
                }
                t.print(f, System.out);
                return 0;
            }
        }

        @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Remove a token: requests bearing it are refused from now on.")
        static final class Revoke implements Callable<Integer> {
            @Mixin
            Where where = new Where();

            @Parameters(paramLabel = "NAME", description = "The token's name.")
            String name;

            @Override
            public Integer call() {
                if (!tokens(where).revoke(name)) {
                    throw new dev.sortie.core.engine.NotFoundException("no token named '" + name + "' (see 'sortie server token list')");
                }
                System.err.println("sortie: token '" + name + "' revoked");
                return 0;
            }
        }
    }
}
