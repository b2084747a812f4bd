package dev.sortie.core.log;

import java.io.PrintWriter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/** Prints records to a terminal's stream (the CLI's stderr under {@code --verbose}): one line each, the level and logger first. */
public final class ConsoleLog extends Handler {
    private final PrintWriter out;

    /** {@code stackTraces}: print the exception's frames too, not only its message. */
    public ConsoleLog(PrintWriter out, boolean stackTraces) {
        this.out = out;
        setFormatter(new LogLine(false, stackTraces));
        setLevel(Level.ALL);
    }

    @Override
    public void publish(LogRecord record) {
        if (!isLoggable(record)) {
            return;
        }
        String line = getFormatter().format(record);
        synchronized (out) {
            out.print("sortie: " + line);
            out.flush();
        }
    }

    @Override
    public void flush() {
        out.flush();
    }

    @Override
    public void close() {
        out.flush();
    }
}
