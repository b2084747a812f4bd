package dev.sortie.cli.commands;

import dev.sortie.cli.CliContext;
import dev.sortie.cli.Main;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.ParentCommand;

/** A subcommand that works on the project around the working folder. */
abstract class ContextCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    CliContext context() {
        return main.context();
    }

    /** The experiments this command works on: the project's ledger, or the server 'sortie login' named. */
    dev.sortie.cli.access.Experiments experiments() {
        return main.experiments();
    }

    /**
     * For a command that does not go through a server yet: logged in, it says that it works on this project's own
     * ledger, so its answer is not taken for the server's.
     */
    void noteLocalOnly(String command) {
        dev.sortie.cli.access.Experiments e = experiments();
        if (!(e instanceof dev.sortie.cli.access.LocalExperiments)) {
            err().println("sortie: note: '" + command + "' does not go through the server at " + e.where()
                    + " yet: this is the local ledger of this project");
        }
    }

    static PrintStream out() {
        return System.out;
    }

    /** Sortie's own messages go to stderr, so stdout carries only the program's output or the requested data. */
    static PrintStream err() {
        return System.err;
    }
}
