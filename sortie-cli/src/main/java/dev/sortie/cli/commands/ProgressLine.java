package dev.sortie.cli.commands;

import java.io.PrintStream;

/**
 * Shows progress of long preparations (code sync) on stderr: one line rewritten in place on a terminal, at most
 * one line every few seconds otherwise (logs of CI jobs stay short), nothing when quiet.
 */
final class ProgressLine {
    private static final long PLAIN_EVERY_NANOS = 5_000_000_000L;
    private final PrintStream err;
    private final boolean quiet;
    private final boolean terminal = System.console() != null;
    private int shown;
    private long lastPlain;

    ProgressLine(PrintStream err, boolean quiet) {
        this.err = err;
        this.quiet = quiet;
    }

    synchronized void show(String message) {
        if (quiet) {
            return;
        }
        if (terminal) {
            String padded = message.length() < shown ? message + " ".repeat(shown - message.length()) : message;
            if (!padded.isEmpty()) {
                err.print("\r" + padded + (message.isEmpty() ? "\r" : ""));
                err.flush();
            }
            shown = message.length();
            return;
        }
        long now = System.nanoTime();
        if (!message.isEmpty() && (lastPlain == 0 || now - lastPlain >= PLAIN_EVERY_NANOS)) {
            lastPlain = now;
            err.println("sortie: " + message);
        }
    }
}
