package dev.sortie.server;

import java.util.List;

/**
 * The server's queue workers as the API sees them: set once they are started (after the API, whose address they
 * give their runs), absent on a server with {@code --workers 0}.
 */
final class QueueDrain {
    private volatile ServerWorkers workers;

    void set(ServerWorkers workers) {
        this.workers = workers;
    }

    boolean present() {
        return workers != null;
    }

    List<ServerWorkers.State> states() {
        ServerWorkers w = workers;
        return w == null ? List.of() : w.states();
    }

    List<ServerWorkers.State> restart(String executor, Integer jobs) {
        ServerWorkers w = workers;
        if (w == null) {
            throw new IllegalStateException("no queue workers");
        }
        return w.restart(executor, jobs);
    }
}
