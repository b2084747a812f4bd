package dev.sortie.core.log;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.temporal.ChronoUnit;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * One record as one line: {@code TIME PID LEVEL LOGGER: MESSAGE}, then the exception's stack trace (indented, so a
 * reader can tell it from the next record) when there is one and it is wanted. Levels are named as
 * {@link System.Logger.Level} names them (DEBUG, not FINE), since that is what the code logs with.
 */
public final class LogLine extends Formatter {
    private final boolean timeAndPid;
    private final boolean stackTraces;
    private String pid; // looked up on first use: ProcessHandle's set-up costs a little of every start

    /** {@code timeAndPid}: for a file that several processes share; {@code stackTraces}: the exception's frames too. */
    public LogLine(boolean timeAndPid, boolean stackTraces) {
        this.timeAndPid = timeAndPid;
        this.stackTraces = stackTraces;
    }

    @Override
    public String format(LogRecord record) {
        StringBuilder line = new StringBuilder(160);
        if (timeAndPid) {
            if (pid == null) {
                pid = Long.toString(ProcessHandle.current().pid());
            }
            line.append(record.getInstant().truncatedTo(ChronoUnit.MILLIS)).append(' ').append(pid).append(' ');
        }
        line.append(levelName(record.getLevel())).append(' ').append(shortName(record.getLoggerName())).append(": ");
        String message = formatMessage(record);
        line.append(message == null ? "" : message.replace("\n", "\n    "));
        Throwable thrown = record.getThrown();
        if (thrown != null) {
            if (stackTraces) {
                StringWriter trace = new StringWriter();
                thrown.printStackTrace(new PrintWriter(trace));
                line.append('\n').append(trace.toString().stripTrailing().indent(4).stripTrailing());
            } else if (message == null || !message.contains(String.valueOf(thrown.getMessage()))) {
                line.append(" (").append(thrown).append(')');
            }
        }
        return line.append('\n').toString();
    }

    /** The {@link System.Logger.Level} name of a JUL level (System.Logger maps DEBUG to FINE, TRACE to FINER, ERROR to SEVERE). */
    static String levelName(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return "ERROR";
        } else if (v >= Level.WARNING.intValue()) {
            return "WARNING";
        } else if (v >= Level.INFO.intValue()) {
            return "INFO";
        } else if (v >= Level.FINE.intValue()) {
            return "DEBUG";
        }
        return "TRACE";
    }

    /** {@code dev.sortie.agent.SystemSampler} as {@code agent.SystemSampler}: our own package prefix says nothing. */
    private static String shortName(String logger) {
        if (logger == null) {
            return "-";
        }
        return logger.startsWith("dev.sortie.") ? logger.substring("dev.sortie.".length()) : logger;
    }
}
