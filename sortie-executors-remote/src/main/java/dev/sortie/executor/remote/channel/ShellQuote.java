package dev.sortie.executor.remote.channel;

import java.util.List;
import java.util.StringJoiner;

/**
 * Quoting for a remote POSIX shell. An SSH "exec" request carries one string that the remote user's shell parses,
 * so every argument is single-quoted: inside single quotes nothing is special except the single quote itself,
 * which is written as {@code '\''} (close, escaped quote, reopen).
 */
public final class ShellQuote {
    private ShellQuote() {
    }

    /** One argument, quoted so the shell reads it back literally (empty string included). */
    public static String quote(String arg) {
        if (arg == null) {
            throw new IllegalArgumentException("a shell argument cannot be null");
        }
        if (arg.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a shell argument cannot contain a NUL character");
        }
        return "'" + arg.replace("'", "'\\''") + "'";
    }

    /** A command line: each argument quoted, separated by spaces. */
    public static String join(List<String> argv) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        StringJoiner sj = new StringJoiner(" ");
        for (String a : argv) {
            sj.add(quote(a));
        }
        return sj.toString();
    }
}
