package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExitCodes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * What a command that watches work does when it is told to stop: Ctrl-C (SIGINT) calls {@code onCtrlC} and the
 * command goes on (to stop gracefully, or to detach); SIGTERM or SIGHUP (the terminal closed, a scheduler's kill)
 * runs {@code onTermination} and the command then ends as its work ends, with exit code 1 (README: "stopped or
 * interrupted"), where the JVM's own handling would exit 143 or 129. Closing this, once the work is recorded, puts
 * back the handlers that were there before.
 * <p>
 * A signal ignored when the JVM started (SIGHUP under {@code nohup}) stays ignored: the JVM does not let a
 * handler replace that. The {@code sortie} launcher resets SIGINT, which a shell ignores for background jobs.
 */
public final class Interrupts implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Interrupts.class.getName());
    /** How long a terminated command has, once {@code onTermination} returned, to end by itself before it is ended. */
    private static final long END_WITHIN_MS = 30_000;

    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    private final AtomicBoolean terminated = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    private Interrupts() {
    }

    public static Interrupts install(String name, Runnable onCtrlC, Runnable onTermination) {
        Interrupts interrupts = new Interrupts();
        interrupts.handle("INT", s -> onCtrlC.run());
        SignalHandler terminate = s -> interrupts.terminate(name, s, onTermination);
        interrupts.handle("TERM", terminate);
        interrupts.handle("HUP", terminate);
        return interrupts;
    }

    private void handle(String signal, SignalHandler handler) {
        Signal s = new Signal(signal);
        try {
            previous.put(s, Signal.handle(s, handler));
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.DEBUG, "SIG{0} cannot be handled here: {1}", signal, e.getMessage());
        }
    }

    /** Runs on the JVM's signal thread: the first SIGTERM/SIGHUP stops the work; the command's own thread ends it. */
    private void terminate(String name, Signal signal, Runnable onTermination) {
        if (!terminated.compareAndSet(false, true)) {
            return; // already stopping; the first signal's handling ends the command
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}: SIG{1} received, stopping", name, signal.getName());
        onTermination.run();
        try {
            if (!closed.await(END_WITHIN_MS, TimeUnit.MILLISECONDS)) {
                // The command did not get back from its work (stuck in a call that the stop did not reach):
                // what could be recorded is, so end as the signal asked, with the promised code.
                LOG.log(System.Logger.Level.WARNING, "{0}: still busy {1} s after SIG{2}; exiting", name, END_WITHIN_MS / 1000,
                        signal.getName());
                System.exit(ExitCodes.EXPERIMENT_FAILED);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether a SIGTERM or SIGHUP stopped the work: the command exits 1 whatever else it would say. */
    boolean terminated() {
        return terminated.get();
    }

    @Override
    public void close() {
        previous.forEach((signal, handler) -> {
            try {
                Signal.handle(signal, handler);
            } catch (IllegalArgumentException e) {
                // cannot happen for a signal that was handled: keep ours
            }
        });
        closed.countDown();
    }
}
