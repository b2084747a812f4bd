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

    static PrintStream out() {
        return System.out;
    }

    /** Sortie's own messages go to stderr, so stdout carries only the program's output or the requested data. */
    static PrintStream err() {
        return System.err;
    }
}
