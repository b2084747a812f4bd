package dev.sortie.core.model;

import java.time.Instant;

/**
 * A run found by its processes on one host, the {@link RunLocator#value()} of the executors that work that way:
 * {@code supervisorPid} watches the run (the local {@code sortie run}, a host's agent, a tracked run's watcher),
 * {@code pid} is the command, which leads its own process group (0: not started). Start times (null: unknown)
 * guard against pid reuse.
 *
 * <p>Written as {@code supervisor=PID[@MILLIS];pid=PID[@MILLIS]}; fields this version does not know are skipped, so
 * an executor may add its own. The ledger's migration writes the same form for runs recorded before locators.
 */
public record ProcessLocation(long supervisorPid, Instant supervisorStart, long pid, Instant processStart) {

    public String value() {
        return "supervisor=" + pidAt(supervisorPid, supervisorStart) + ";pid=" + pidAt(pid, processStart);
    }

    /** Reads {@link #value()}; IllegalArgumentException (naming the value) if it is not one. */
    public static ProcessLocation parse(String value) {
        long supervisorPid = -1;
        Instant supervisorStart = null;
        long pid = 0;
        Instant processStart = null;
        try {
            for (String field : value.split(";")) {
                int eq = field.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String key = field.substring(0, eq);
                String v = field.substring(eq + 1);
                int at = v.indexOf('@');
                long p = Long.parseLong(at < 0 ? v : v.substring(0, at));
                Instant start = at < 0 ? null : Instant.ofEpochMilli(Long.parseLong(v.substring(at + 1)));
                if (key.equals("supervisor")) {
                    supervisorPid = p;
                    supervisorStart = start;
                } else if (key.equals("pid")) {
                    pid = p;
                    processStart = start;
                }
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("run locator '" + value + "': expected supervisor=PID[@MILLIS];pid=PID[@MILLIS]", e);
        }
        if (supervisorPid < 0) {
            throw new IllegalArgumentException("run locator '" + value + "': no supervisor=PID");
        }
        return new ProcessLocation(supervisorPid, supervisorStart, pid, processStart);
    }

    /** The processes of a locator an executor of {@code type} may read, or null if it is another's (or unreadable). */
    public static ProcessLocation of(RunLocator locator, String type) {
        if (locator == null || !locator.readableBy(type)) {
            return null;
        }
        try {
            return parse(locator.value());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String pidAt(long pid, Instant start) {
        return start == null ? Long.toString(pid) : pid + "@" + start.toEpochMilli();
    }
}
