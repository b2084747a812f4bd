package dev.sortie.cli.output;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * How wide the user's terminal is, for tables that fit it: {@code COLUMNS} when the shell exports it, else what
 * {@code stty size} says of the controlling terminal; nothing when the output is not a terminal (a pipe takes
 * whole lines).
 */
public final class TerminalWidth {
    private static final System.Logger LOG = System.getLogger(TerminalWidth.class.getName());

    private TerminalWidth() {
    }

    public static OptionalInt of(Map<String, String> env) {
        String columns = env.get("COLUMNS");
        if (columns != null && !columns.isBlank()) {
            try {
                int n = Integer.parseInt(columns.trim());
                if (n > 0) {
                    return OptionalInt.of(n);
                }
            } catch (NumberFormatException e) {
                LOG.log(System.Logger.Level.DEBUG, "COLUMNS={0} is no number; asking the terminal", columns);
            }
        }
        if (System.console() == null || !new File("/dev/tty").canRead()) {
            return OptionalInt.empty();
        }
        return stty();
    }

    /** {@code stty size} prints "rows columns" of the terminal on its stdin. */
    private static OptionalInt stty() {
        try {
            Process p = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(2, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return OptionalInt.empty();
            }
            String[] parts = out.split("\\s+");
            int n = parts.length == 2 ? Integer.parseInt(parts[1]) : 0;
            return n > 0 ? OptionalInt.of(n) : OptionalInt.empty();
        } catch (java.io.IOException | NumberFormatException e) {
            LOG.log(System.Logger.Level.DEBUG, "stty size gave no terminal width: {0}", e.toString());
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.empty();
        }
    }
}
