package dev.sortie.core.util;

/**
 * Timing of the phases of a command, printed to stderr when {@code SORTIE_TRACE=1}: how a user (or a benchmark)
 * finds where the milliseconds of a run go without a profiler. Costs one branch when off.
 */
public final class Trace {
    private static final boolean ON = "1".equals(System.getenv("SORTIE_TRACE"));
    private static final long START = System.nanoTime();

    private Trace() {
    }

    public static boolean on() {
        return ON;
    }

    /** Prints the CPU time this JVM itself has used (children excluded), with {@code what}. */
    public static void cpu(String what) {
        if (ON && java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            mark(what + ": JVM cpu " + os.getProcessCpuTime() / 1_000_000 + " ms");
        }
    }

    /** Prints {@code what} with the milliseconds since the JVM's first use of this class and the thread. */
    public static void mark(String what) {
        if (ON) {
            System.err.printf("[trace %7.1f ms %s] %s%n", (System.nanoTime() - START) / 1e6, Thread.currentThread().getName(), what);
        }
    }
}
