package dev.sortie.cli;

import dev.sortie.cli.commands.ApplyCommand;
import dev.sortie.cli.commands.BranchCommand;
import dev.sortie.cli.commands.DiffCommand;
import dev.sortie.cli.commands.LoginCommand;
import dev.sortie.cli.commands.LogoutCommand;
import dev.sortie.cli.commands.PushCommand;
import dev.sortie.cli.commands.RecoverCommand;
import dev.sortie.cli.commands.DownCommand;
import dev.sortie.cli.commands.UpCommand;
import dev.sortie.cli.commands.ExecutorCommand;
import dev.sortie.cli.commands.ImportCommand;
import dev.sortie.cli.commands.InitCommand;
import dev.sortie.cli.commands.LogsCommand;
import dev.sortie.cli.commands.PlotsCommand;
import dev.sortie.cli.commands.PullCommand;
import dev.sortie.cli.commands.QueueCommand;
import dev.sortie.cli.commands.RemoveCommand;
import dev.sortie.cli.commands.RetryCommand;
import dev.sortie.cli.commands.RunCommand;
import dev.sortie.cli.commands.ServerCommand;
import dev.sortie.cli.commands.ShowCommand;
import dev.sortie.cli.commands.StatusCommand;
import dev.sortie.cli.commands.StopCommand;
import dev.sortie.cli.commands.TrackCommand;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.NotFoundException;
import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.log.ConsoleLog;
import dev.sortie.core.log.LogFile;
import dev.sortie.core.log.Logging;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code sortie} command. Exit codes: 0 success, 1 the experiment failed, 2 bad usage or config, 3 infrastructure. */
@Command(name = "sortie", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Run ML experiments wherever the compute is; keep every run in one experiments table.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the experiment failed, was stopped or interrupted", "2:bad usage or configuration",
                "3:infrastructure error (ledger, store, host, disk)"})
public final class Main implements Runnable {
    /**
     * The commands, in the order help lists them. Not in {@code @Command(subcommands)}: picocli would build the
     * model of every command (reflection over all their options, ~0.1 s) on every start; {@link #commandLine}
     * builds only the one a command line names.
     */
    static final List<Class<?>> COMMANDS = List.of(InitCommand.class, RunCommand.class, ShowCommand.class, StatusCommand.class,
            LogsCommand.class, StopCommand.class, RetryCommand.class, RemoveCommand.class, DiffCommand.class, PlotsCommand.class,
            ApplyCommand.class, BranchCommand.class, ImportCommand.class, PullCommand.class, QueueCommand.class, LoginCommand.class, LogoutCommand.class, PushCommand.class, TrackCommand.class, ExecutorCommand.class, UpCommand.class, DownCommand.class, ServerCommand.class,
            RecoverCommand.class, CommandLine.HelpCommand.class);

    @Option(names = "-C", paramLabel = "DIR", description = "Run as if started in DIR (like git -C).")
    Path directory;

    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Also print Sortie's log (.sortie/logs/sortie.log: why something was skipped or retried) to stderr; "
                    + "twice (-vv) with stack traces.")
    boolean[] verbose = new boolean[0];

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** This command's log file, once started: records wait in memory until the project (and so the file) is known. */
    private LogFile log;
    private CliContext context;
    private dev.sortie.cli.access.Experiments experiments;

    public CliContext context() {
        if (context == null) {
            startLogging();
            context = new CliContext(directory == null ? Path.of("") : directory, p -> log.attach(p.sortieLogFile()));
        }
        return context;
    }

    /**
     * Where the experiments live for this command: the server {@code sortie login} (or {@code SORTIE_SERVER} and
     * {@code SORTIE_TOKEN}) names, else the project's own ledger.
     */
    public dev.sortie.cli.access.Experiments experiments() {
        if (experiments == null) {
            java.util.Optional<dev.sortie.cli.access.ServerLogin> login = dev.sortie.cli.access.ServerLogin.resolve(System.getenv(),
                    dev.sortie.cli.access.CredentialsFile.of(System.getenv()));
            experiments = login.<dev.sortie.cli.access.Experiments>map(l -> new dev.sortie.cli.access.RemoteExperiments(
                    new dev.sortie.cli.access.ServerClient(l), () -> context().pathsOrHere().projectDir()))
                    .orElseGet(() -> new dev.sortie.cli.access.LocalExperiments(context()));
        }
        return experiments;
    }

    /** The context of a command that works in a folder of its own ({@code sortie server --dir}), not the project's. */
    public CliContext contextAt(Path dir) {
        if (context == null) {
            startLogging();
            context = new CliContext(dir, p -> log.attach(p.sortieLogFile()));
        }
        return context;
    }

    /**
     * Points the JDK's logging at this command's log, once. Not at start-up: the JDK's logging, when first used, looks
     * for a LoggerFinder in every jar of the classpath (~20 ms that --version and --help need not pay); a command
     * that opens the project (the log's home) or asks for --verbose starts it.
     */
    private void startLogging() {
        if (log == null) {
            log = new LogFile(); // a JUL handler: making one starts the JDK's logging
            Logging.install(log);
        }
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed (see 'sortie --help')");
    }

    public static void main(String[] args) {
        // vfork starts each experiment's process without the JDK's helper process in between (one exec fewer per
        // run, which a queue of short runs notices). The JDK supports it on Linux up to 21 and deprecates it after.
        if (Runtime.version().feature() <= 21 && System.getProperty("jdk.lang.Process.launchMechanism") == null
                && "Linux".equals(System.getProperty("os.name"))) {
            System.setProperty("jdk.lang.Process.launchMechanism", "VFORK");
        }
        System.exit(execute(args));
    }

    /** The project's .sortie folder where there is a project, else the folder the command runs in. */
    private Path stateDirOrWorkingDir() {
        CliContext c = context();
        try {
            return c.pathsOrHere().stateDir();
        } catch (RuntimeException e) {
            return c.workingDir();
        }
    }

    public static int execute(String... args) {
        dev.sortie.core.util.Trace.mark("main");
        Logging.skipConfigFile();
        Main main = new Main();
        CommandLine cl = commandLine(main, args);
        // One strategy (picocli keeps only the last one set): words no command takes, then --verbose, then the command.
        cl.setExecutionStrategy(parsed -> {
            rejectUnmatched(parsed);
            if (main.verbose.length > 0) {
                main.startLogging();
                Logging.add(new ConsoleLog(cl.getErr(), main.verbose.length > 1));
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            main.startLogging();
            return handle(ex, c, main);
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("sortie: " + ex.getMessage());
            Optional<String> near = nearestCommand(ex);
            if (near.isPresent()) {
                err.println("Did you mean: " + ex.getCommandLine().getCommandSpec().qualifiedName() + " " + near.get() + "?");
            } else {
                CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
            }
            err.println("See '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ExitCodes.USAGE;
        });
        try {
            return cl.execute(args);
        } finally {
            if (main.context != null) {
                main.context.close();
            }
        }
    }

    /**
     * The command an unknown word most likely meant, by edit distance: picocli's own suggestion ranks by shared
     * letters, so {@code executor lst} got {@code test} rather than {@code list}.
     */
    static Optional<String> nearestCommand(CommandLine.ParameterException ex) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || u.getUnmatched().isEmpty()) {
            return Optional.empty();
        }
        String typed = u.getUnmatched().get(0);
        java.util.Set<String> names = u.getCommandLine().getSubcommands().keySet();
        if (typed.startsWith("-") || names.isEmpty()) {
            return Optional.empty();
        }
        return dev.sortie.core.config.Suggest.nearest(typed, names);
    }

    /**
     * Words no command takes are an error even with {@code --help}: picocli tolerates them when help is asked for,
     * so {@code sortie serve --help} would print the main help and exit 0 instead of suggesting a command.
     */
    private static void rejectUnmatched(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (!p.unmatched().isEmpty()) {
                throw new CommandLine.UnmatchedArgumentException(p.commandSpec().commandLine(), p.unmatched());
            }
        }
    }

    /**
     * The command line for {@code args}: with only the command they name when they name one (its options are all
     * that can be parsed), with every command otherwise (help, a typo to suggest a command for, no command).
     */
    static CommandLine commandLine(Main main, String... args) {
        CommandLine cl = new CommandLine(main);
        Class<?> named = namedCommand(args);
        for (Class<?> c : COMMANDS) {
            if (named == null || named == c) {
                cl.addSubcommand(c);
            }
        }
        CommandLine executor = cl.getSubcommands().get("executor");
        if (executor != null) {
            // each executor type brings its own options for 'executor add' and 'executor test'
            dev.sortie.cli.commands.ExecutorCommand.contribute(executor, dev.sortie.core.engine.ExecutorRegistry.available());
        }
        return cl;
    }

    /** The command {@code args} name (the first word that is not an option of {@code sortie} itself), or null. */
    static Class<?> namedCommand(String... args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-C")) {
                i++; // its value
                continue;
            }
            if (a.equals("--verbose") || a.matches("-v+")) {
                continue;
            }
            if (a.startsWith("-")) {
                return null; // -CDIR, --help, --version, or an option picocli will explain
            }
            for (Class<?> c : COMMANDS) {
                Command command = c.getAnnotation(Command.class);
                if (c != CommandLine.HelpCommand.class
                        && (command.name().equals(a) || java.util.Arrays.asList(command.aliases()).contains(a))) {
                    return c;
                }
            }
            return null;
        }
        return null;
    }

    private static int handle(Exception ex, CommandLine cl, Main main) {
        PrintWriter err = cl.getErr();
        int code;
        String message = ex.getMessage();
        if (dev.sortie.core.util.LocalDisk.isFull(ex)) {
            // a full disk is the machine's trouble, whatever part of Sortie ran into it: say where, and how much is free
            code = ExitCodes.INFRASTRUCTURE;
            message = message + "; " + dev.sortie.core.util.LocalDisk.describeFull(main.stateDirOrWorkingDir());
        } else if (ex instanceof ConfigException || ex instanceof NotFoundException || ex instanceof IllegalArgumentException) {
            code = ExitCodes.USAGE;
        } else if (ex instanceof LedgerException le) {
            code = le.isConflict() ? ExitCodes.USAGE : ExitCodes.INFRASTRUCTURE;
        } else if (ex instanceof IOException || ex instanceof UncheckedIOException) {
            code = ExitCodes.INFRASTRUCTURE;
        } else {
            code = ExitCodes.INFRASTRUCTURE;
            message = ex.getClass().getSimpleName() + (message == null ? "" : ": " + message);
        }
        // In the log too, with its stack trace: what a user sends along with a report
        System.getLogger(Main.class.getName()).log(code == ExitCodes.INFRASTRUCTURE ? System.Logger.Level.WARNING
                : System.Logger.Level.DEBUG, "the command failed: " + message, ex);
        err.println("sortie: error: " + message);
        if (System.getenv("SORTIE_DEBUG") != null) {
            ex.printStackTrace(err);
        }
        err.flush();
        return code;
    }
}
