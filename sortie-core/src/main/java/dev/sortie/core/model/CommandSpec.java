package dev.sortie.core.model;

import java.util.List;
import java.util.Objects;

/**
 * What to run: either a shell line (the {@code run:} of sortie.yaml, run with {@code sh -c}) or an argv
 * given after {@code --} on the command line, executed directly with no shell in between.
 * Exactly one of the two is set.
 */
public record CommandSpec(String shell, List<String> argv) {
    public CommandSpec {
        if ((shell == null) == (argv == null || argv.isEmpty())) {
            throw new IllegalArgumentException("a command is either a shell line or an argv, not both or neither");
        }
        argv = argv == null ? null : List.copyOf(argv);
    }

    public static CommandSpec shell(String line) {
        return new CommandSpec(Objects.requireNonNull(line), null);
    }

    public static CommandSpec argv(List<String> argv) {
        return new CommandSpec(null, argv);
    }

    public boolean isShell() {
        return shell != null;
    }

    /** A one-line rendering for tables and logs (not for execution). */
    public String display() {
        return isShell() ? shell : String.join(" ", argv);
    }
}
