package dev.sortie.cli;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.ProjectPaths;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.store.StoreConfig;
import dev.sortie.core.store.StoreSpec;
import dev.sortie.ledger.LedgerConfig;
import dev.sortie.ledger.PostgresLedger;
import dev.sortie.ledger.PostgresUrl;
import dev.sortie.ledger.SqliteLedger;
import dev.sortie.store.GitCodeSnapshots;
import dev.sortie.store.LocalBlobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Wires the embedded mode of one command: the project found from the working folder, its SQLite ledger, its
 * local store, git snapshots, and the executors. Opened lazily, closed when the command ends.
 */
public final class CliContext implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CliContext.class.getName());
    private final Path workingDir;
    private final Consumer<ProjectPaths> projectFound;
    private ProjectPaths paths;
    private Ledger ledger;
    private boolean readOnlyAllowed;
    private ExecutorRegistry executors;
    private ExperimentService service;
    private BlobStore store;
    private StoreConfig storeConfig;
    private Optional<StoreSpec> storeSpec;
    private GitCodeSnapshots snapshots;
    private java.util.function.Supplier<Ledger> ledgerOpener;
    private java.util.function.Supplier<BlobStore> storeOpener;

    public CliContext(Path workingDir) {
        this(workingDir, p -> { });
    }

    /** {@code projectFound}: told the project once it is known (the CLI's log file goes into it). */
    public CliContext(Path workingDir, Consumer<ProjectPaths> projectFound) {
        this.workingDir = workingDir.toAbsolutePath().normalize();
        this.projectFound = projectFound;
    }

    /**
     * Opens the ledger and (when not null) the store with these instead of the project's own files: {@code sortie
     * server} with {@code --db URL} and {@code --store URL}. Before the first use.
     */
    public void openWith(java.util.function.Supplier<Ledger> ledger, java.util.function.Supplier<BlobStore> store) {
        this.ledgerOpener = ledger;
        this.storeOpener = store;
    }

    public Path workingDir() {
        return workingDir;
    }

    /** The project around the working folder, or a clear error saying how to make one. */
    public ProjectPaths paths() {
        if (paths == null) {
            paths = ProjectPaths.find(workingDir).orElseThrow(() -> new ConfigException(
                    "no Sortie project in " + workingDir + " or above (no sortie.yaml or .sortie/): run 'sortie init' here"));
            projectFound.accept(paths);
        }
        return paths;
    }

    /** Like {@link #paths()}, but a folder without a project becomes one (for {@code sortie run -- CMD} anywhere). */
    public ProjectPaths pathsOrHere() {
        if (paths == null) {
            paths = ProjectPaths.find(workingDir).orElseGet(() -> new ProjectPaths(workingDir));
            projectFound.accept(paths);
        }
        return paths;
    }

    /**
     * The project's store: {@code .sortie/store} unless a config file's {@code store:} names another (an S3 bucket).
     * Opened on first use, and then checked (a bucket that does not answer is an IOException, exit 3): a run calls
     * this before it starts, so it does not find out at its end.
     */
    public synchronized BlobStore store() {
        if (store == null && storeOpener != null) {
            store = storeOpener.get();
        }
        if (store == null) {
            Optional<StoreSpec> spec = storeSpec();
            if (spec.isEmpty()) {
                store = new LocalBlobStore(paths().storeDir());
            } else {
                try {
                    store = storeConfig().provider(spec.get()).open(spec.get());
                } catch (IOException e) {
                    throw new UncheckedIOException(e.getMessage(), e);
                }
            }
        }
        return store;
    }

    /** The {@code store:} the config files name (checked: ConfigException naming the file, line and field), or empty for the local store. */
    public synchronized Optional<StoreSpec> storeSpec() {
        if (storeSpec == null) {
            storeSpec = storeConfig().read(configFiles());
        }
        return storeSpec;
    }

    private StoreConfig storeConfig() {
        if (storeConfig == null) {
            storeConfig = StoreConfig.fromClassPath();
        }
        return storeConfig;
    }

    /** The user's config file (if any) and the project's, in the order they apply: the project's wins. */
    private List<Path> configFiles() {
        List<Path> configs = new ArrayList<>();
        Path user = userConfig();
        if (user != null) {
            configs.add(user);
        }
        configs.add(paths().configFile());
        return configs;
    }

    /**
     * Lets a command that only reads (show, diff, logs, status) open the ledger read-only when .sortie cannot be
     * written (a read-only mount): SQLite in WAL mode cannot open it otherwise, even to read.
     */
    public void allowReadOnlyLedger() {
        readOnlyAllowed = true;
    }

    public Ledger ledger() {
        if (ledger == null && ledgerOpener != null) {
            paths();
            ledger = ledgerOpener.get();
        }
        if (ledger == null) {
            ProjectPaths p = paths();
            if (readOnlyAllowed && Files.isRegularFile(p.ledgerFile()) && !Files.isWritable(p.stateDir())
                    && LedgerConfig.read(System.getenv(), configFiles()).isEmpty()) {
                ledger = SqliteLedger.openReadOnly(p.ledgerFile());
                System.err.println("sortie: note: " + p.stateDir() + " cannot be written: the ledger is read as it is, nothing can"
                        + " be recorded (runs in flight are not collected)");
                return ledger;
            }
            // SORTIE_LEDGER or the config's ledger: (a bad one is a config error, exit 2, before anything is opened)
            Optional<PostgresUrl> shared = LedgerConfig.read(System.getenv(), configFiles());
            try {
                StateDir.ensure(p);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + p.stateDir() + ": " + e.getMessage(), e);
            }
            ledger = shared.isPresent() ? PostgresLedger.open(shared.get()) : SqliteLedger.open(p.ledgerFile());
        }
        return ledger;
    }

    public ExecutorRegistry executors() {
        if (executors == null) {
            ProjectPaths p = paths();
            List<Path> configs = configFiles();
            storeSpec(); // a bad store: setting is a config error for every command, as a bad executor is
            // the store is opened when an executor first saves or restores a blob, not by commands that never do
            executors = new ExecutorRegistry(new ExecutorContext(p.projectDir(), p.stateDir(), new LazyBlobStore(this::store)), configs);
        }
        return executors;
    }

    public ExperimentService service() {
        if (service == null) {
            ProjectPaths p = paths();
            service = new ExperimentService(p, ledger(), this::snapshots, executors(), Clock.systemUTC());
        }
        return service;
    }

    /** The project's code snapshots (git); opened on first use. */
    public synchronized GitCodeSnapshots snapshots() {
        if (snapshots == null) {
            ProjectPaths p = paths();
            try {
                // what a snapshot leaves out (a FIFO, a socket) is told on stderr, as Sortie's other notes are
                snapshots = GitCodeSnapshots.open(p.projectDir(), p.stateDir(), note -> System.err.println("[sortie] " + note));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open the code snapshots of " + p.projectDir() + ": " + e.getMessage(), e);
            }
        }
        return snapshots;
    }

    /**
     * Opens git in the background while the caller opens the ledger: the two are independent and each costs
     * a few hundred milliseconds of class loading at start-up, which two cores can overlap.
     */
    public void openSnapshotsInBackground() {
        paths();
        inBackground("sortie-open-git", this::snapshots); // the caller's own snapshots() call reports an error
    }

    /**
     * Lets the executor a run will go to get ready (an ssh host: connect and log in) in the background, while this
     * thread opens the ledger and snapshots the code. The config is read here, so its errors are reported as usual;
     * anything else the warm-up meets, the launch meets again and reports.
     */
    public void warmUpInBackground(String executor) {
        ExecutorRegistry registry = executors();
        if (executor == null || !registry.has(executor)) {
            return;
        }
        inBackground("sortie-warm-up", () -> registry.get(executor).warmUp()); // the launch reports an error
    }

    /** Start-up work that overlaps the caller's; its failures are left to the caller's own later call to report. */
    private static void inBackground(String name, Runnable work) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "background start-up work failed (the command meets it again and reports it): {0}", e);
                // reported by the caller's own call
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    /** The user's config file, whether it exists or not (see {@link #userConfig()}). */
    public static Path userConfigPath() {
        String explicit = System.getenv("SORTIE_CONFIG");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("sortie").resolve("config.yaml");
    }

    /** The user's config file if it exists, or {@code $SORTIE_CONFIG} as given (a missing one is then an error). */
    static Path userConfig() {
        Path f = userConfigPath();
        String explicit = System.getenv("SORTIE_CONFIG");
        return (explicit != null && !explicit.isBlank()) || Files.exists(f) ? f : null;
    }

    @Override
    public void close() {
        if (executors != null) {
            executors.close();
        }
        synchronized (this) {
            if (snapshots != null) {
                snapshots.close();
            }
        }
        if (ledger != null) {
            ledger.close();
        }
        synchronized (this) {
            if (store instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.DEBUG, "closing the store: {0}", e);
                }
            }
        }
    }
}
