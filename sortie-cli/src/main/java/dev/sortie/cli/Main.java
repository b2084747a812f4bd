package dev.sortie.cli;

import dev.sortie.cli.commands.ApplyCommand;
import dev.sortie.cli.commands.BranchCommand;
import dev.sortie.cli.commands.DiffCommand;
import dev.sortie.cli.commands.ExecutorCommand;
import dev.sortie.cli.commands.InitCommand;
import dev.sortie.cli.commands.LogsCommand;
import dev.sortie.cli.commands.PlotsCommand;
import dev.sortie.cli.commands.PullCommand;
import dev.sortie.cli.commands.QueueCommand;
import dev.sortie.cli.commands.RemoveCommand;
import dev.sortie.cli.commands.RetryCommand;
import dev.sortie.cli.commands.RunCommand;
import dev.sortie.cli.commands.ShowCommand;
import dev.sortie.cli.commands.StatusCommand;
import dev.sortie.cli.commands.StopCommand;
import dev.sortie.cli.commands.TrackCommand;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.ExitCodes;
import dev.sortie.core.engine.NotFoundException;
import dev.sortie.core.ledger.LedgerException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
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
            ApplyCommand.class, BranchCommand.class, PullCommand.class, QueueCommand.class, TrackCommand.class, ExecutorCommand.class,
            CommandLine.HelpCommand.class);

    @Option(names = "-C", paramLabel = "DIR", description = "Run as if started in DIR (like git -C).")
    Path directory;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private CliContext context;

    public CliContext context() {
        if (context == null) {
            context = new CliContext(directory == null ? Path.of("") : directory);
        }
        return context;
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
        Main main = new Main();
        CommandLine cl = commandLine(main, args);
        cl.setExecutionExceptionHandler((ex, c, parsed) -> handle(ex, c, main));
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("sortie: " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
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
        err.println("sortie: error: " + message);
        if (System.getenv("SORTIE_DEBUG") != null) {
            ex.printStackTrace(err);
        }
        err.flush();
        return code;
    }
}
