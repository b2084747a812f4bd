package dev.sortie.server;

/**
 * A running server: the HTTP API and the queue workers over one {@link ServerContext}. {@link #close} is the
 * graceful stop (SIGTERM): the workers stop claiming and hand back what they hold, then the API stops answering.
 */
public final class SortieServer implements AutoCloseable {
    private final ApiServer api;
    private final ServerWorkers workers;

    private SortieServer(ApiServer api, ServerWorkers workers) {
        this.api = api;
        this.workers = workers;
    }

    /** Starts the API on {@code bind}:{@code port} (0: any) and {@code slots} runs at a time per executor (0: no workers). */
    public static SortieServer start(ServerContext context, String bind, int port, TlsSettings tls, int slots) {
        ApiServer api = ApiServer.start(context, bind, port, tls);
        ServerWorkers workers = null;
        if (slots > 0) {
            try {
                workers = new ServerWorkers(context.service(), slots);
                workers.start();
            } catch (RuntimeException e) {
                api.close();
                throw e;
            }
        }
        return new SortieServer(api, workers);
    }

    public int port() {
        return api.port();
    }

    public java.util.List<ApiServer.Route> routes() {
        return api.routes();
    }

    /** The executors whose queues the server drains. */
    public java.util.List<String> drainedExecutors() {
        return workers == null ? java.util.List.of() : workers.executors();
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.close();
        }
        api.close();
    }
}
