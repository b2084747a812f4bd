package dev.sortie.server;

import java.time.Duration;

/**
 * A running server: the HTTP API and the queue workers over one {@link ServerContext}. {@link #close} is the
 * graceful stop (SIGTERM): the workers stop claiming and hand back what they hold, then the API stops answering.
 */
public final class SortieServer implements AutoCloseable {
    private final ApiServer api;
    private final ServerWorkers workers;
    private final ServerRecoveries recoveries;

    private SortieServer(ApiServer api, ServerWorkers workers, ServerRecoveries recoveries) {
        this.api = api;
        this.workers = workers;
        this.recoveries = recoveries;
    }

    /** Starts the API on {@code bind}:{@code port} (0: any) and {@code slots} runs at a time per executor (0: no workers). */
    public static SortieServer start(ServerContext context, String bind, int port, TlsSettings tls, int slots) {
        QueueDrain drain = new QueueDrain();
        ApiServer api = ApiServer.start(context, bind, port, tls, drain);
        ServerWorkers workers = null;
        ServerRecoveries recoveries = null;
        try {
            String home = apiUrl(tls != null, bind, api.port());
            // each attempt the server launches (its workers, its recoveries) reports home with a token of its own,
            // revoked when it ends: so a replacement it launched is followed to its end even with no workers
            context.service().reportHome(exp -> java.util.Map.of(HOME_URL_ENV, home, HOME_TOKEN_ENV,
                    context.tokens().createRun(exp.id(), exp.attempt())));
            Duration grace = runTokenGrace();
            if (slots > 0) {
                workers = new ServerWorkers(context.service(), slots, e -> expireQuietly(context.tokens(), e.id(), grace));
                workers.start();
                drain.set(workers);
            }
            // runs whose machine went away with nobody to continue them: continued here, with no laptop open, whether
            // or not this server drains queues (--workers 0 still continues them)
            recoveries = new ServerRecoveries(context.service(), workers == null, e -> expireQuietly(context.tokens(), e.id(), grace));
            recoveries.start();
        } catch (RuntimeException e) {
            if (workers != null) {
                workers.close();
            }
            api.close();
            throw e;
        }
        return new SortieServer(api, workers, recoveries);
    }

    /** The variables a run dispatched by the server finds: where to post reports, and its own token to post them. */
    public static final String HOME_URL_ENV = "SORTIE_API";
    public static final String HOME_TOKEN_ENV = "SORTIE_TOKEN";
    private static final System.Logger LOG = System.getLogger(SortieServer.class.getName());

    /**
     * The API's base URL as a run's host reaches it: the bound address, or this machine's name when the server
     * listens on every interface (SORTIE_PUBLIC_URL overrides, for a server behind a proxy or NAT).
     */
    static String apiUrl(boolean tls, String bind, int port) {
        String given = System.getenv("SORTIE_PUBLIC_URL");
        if (given != null && !given.isBlank()) {
            return given.replaceAll("/+$", "") + ApiServer.PREFIX;
        }
        String host = bind;
        if (bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("[::]")) {
            host = dev.sortie.core.util.Hosts.name();
        }
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return (tls ? "https" : "http") + "://" + host + ":" + port + ApiServer.PREFIX;
    }

    /** How long a run's token stays good after the run ended: longer than the agent waits to send its last reports. */
    static final Duration RUN_TOKEN_GRACE = Duration.ofMinutes(2);

    /** {@link #RUN_TOKEN_GRACE}, or SORTIE_RUN_TOKEN_GRACE_S seconds (the tests shorten it). */
    static Duration runTokenGrace() {
        String s = System.getenv("SORTIE_RUN_TOKEN_GRACE_S");
        try {
            return s == null || s.isBlank() ? RUN_TOKEN_GRACE : Duration.ofSeconds(Long.parseLong(s.trim()));
        } catch (NumberFormatException e) {
            throw new dev.sortie.core.config.ConfigException("SORTIE_RUN_TOKEN_GRACE_S='" + s + "': a whole number of seconds");
        }
    }

    private static void expireQuietly(Tokens tokens, String experimentId, Duration grace) {
        try {
            tokens.expireRun(experimentId, grace);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the tokens of run " + experimentId + " could not be expired", e);
        }
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
        if (recoveries != null) {
            recoveries.close();
        }
        if (workers != null) {
            workers.close();
        }
        api.close();
    }
}
