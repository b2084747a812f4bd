package dev.sortie.cli.commands;

import sun.misc.Signal;

/**
 * What a command that watches work does when it is told to stop: Ctrl-C (SIGINT) calls {@code onCtrlC} and the
 * command goes on (to stop gracefully, or to detach); SIGTERM or SIGHUP (the terminal closed, a scheduler's kill)
 * runs {@code onTermination} before the JVM exits. Closing this undoes the latter, once the work is recorded.
 */
final class Interrupts implements AutoCloseable {
    private final Thread hook;

    private Interrupts(Thread hook) {
        this.hook = hook;
    }

    static Interrupts install(String name, Runnable onCtrlC, Runnable onTermination) {
        Thread hook = new Thread(onTermination, name + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Signal.handle(new Signal("INT"), s -> onCtrlC.run());
        return new Interrupts(hook);
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook runs (and waits for what the command is recording).
        }
    }
}
