package dev.sortie.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.NotFoundException;
import dev.sortie.core.ledger.LedgerException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The HTTP side of the server: Javalin on Jetty, the JSON API under {@code /api/v1} (API.md). Every {@code /api/}
 * route but {@code /api/v1/health} needs a valid bearer token; a read-only token may only read. Errors are JSON
 * {@code {"error": "...", "field": "..."}} with their status code; nothing about a token is logged.
 */
public final class ApiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    public static final String PREFIX = "/api/v1";
    static final Set<HandlerType> WRITES = Set.of(HandlerType.POST, HandlerType.PUT, HandlerType.PATCH, HandlerType.DELETE);
    private static final Set<HandlerType> ROUTE_TYPES = Set.of(HandlerType.GET, HandlerType.POST, HandlerType.PUT, HandlerType.PATCH,
            HandlerType.DELETE, HandlerType.HEAD);
    private static final String TOKEN_ATTRIBUTE = "sortie.token";
    /** The largest request body read: 32 MiB. */
    public static final long MAX_BODY = 32L << 20;

    /** One route as Javalin registered it. */
    public record Route(String method, String path) {
    }

    private final Javalin app;
    private final List<Route> routes = new CopyOnWriteArrayList<>();

    private final TrackedLiveness liveness;
    private volatile PushApi push;

    private ApiServer(Javalin app, TrackedLiveness liveness) {
        this.app = app;
        this.liveness = liveness;
    }

    /** Starts listening on {@code bind}:{@code port} (0: any free port); {@code tls} null for plain HTTP. */
    public static ApiServer start(ServerContext context, String bind, int port, TlsSettings tls) {
        return start(context, bind, port, tls, new QueueDrain());
    }

    /** As above, with the server's queue workers ({@code drain}) for the queue routes. */
    static ApiServer start(ServerContext context, String bind, int port, TlsSettings tls, QueueDrain drain) {
        List<Route> routes = new CopyOnWriteArrayList<>();
        Javalin app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.startupWatcherEnabled = false;
            // an agent's buffered report after an outage can be large; beyond this it sends in parts (413)
            config.http.maxRequestSize = MAX_BODY;
            config.events(e -> e.handlerAdded(meta -> {
                if (ROUTE_TYPES.contains(meta.getHttpMethod())) {
                    routes.add(new Route(meta.getHttpMethod().name(), meta.getPath()));
                }
            }));
            WebUi.serve(config);
            if (tls != null) {
                config.jetty.addConnector((server, http) -> tls.connector(server, http, bind, port));
            }
        });
        // tracked runs whose SDK stopped posting are ended here (the server is all that hears from them)
        TrackedLiveness liveness = new TrackedLiveness(context.ledger(), TrackedLiveness.lostAfterSetting(), java.time.Clock.systemUTC());
        ApiServer api = new ApiServer(app, liveness);
        app.before("/api/*", ctx -> authorize(context.tokens(), ctx));
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e.status(), e.getMessage(), e.field()));
        app.exception(NotFoundException.class, (e, ctx) -> error(ctx, 404, e.getMessage(), null));
        app.exception(ConfigException.class, (e, ctx) -> error(ctx, 400, e.getMessage(), null));
        app.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, 400, e.getMessage(), null));
        app.exception(LedgerException.class, (e, ctx) -> {
            if (e.isConflict()) {
                error(ctx, 409, e.getMessage(), null);
            } else {
                LOG.log(System.Logger.Level.WARNING, "ledger error on " + ctx.method() + " " + ctx.path(), e);
                error(ctx, 503, "the ledger failed: " + e.getMessage(), null);
            }
        });
        app.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(),
                e.getStatus() == 413 ? "the body is larger than " + (MAX_BODY >> 20) + " MiB: send it in parts" : e.getMessage(), null));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.log(System.Logger.Level.WARNING, "unexpected error on " + ctx.method() + " " + ctx.path(), e);
            error(ctx, 500, "internal error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()), null);
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                error(ctx, 404, "no such route: " + ctx.method() + " " + ctx.path() + " (see API.md)", null);
            }
        });
        app.error(405, ctx -> error(ctx, 405, "method not allowed: " + ctx.method() + " " + ctx.path(), null));

        app.get(PREFIX + "/health", ctx -> ctx.json(Json.object().put("status", "ok")));
        app.get(PREFIX + "/routes", ctx -> {
            ArrayNode out = Json.array();
            for (Route r : routes) {
                out.addObject().put("method", r.method()).put("path", r.path());
            }
            json(ctx, out);
        });
        new ExperimentsApi(context).register(app);
        new ReportsApi(context, liveness).register(app);
        new QueueApi(context).register(app);
        PushApi push = new PushApi(context);
        push.register(app);
        new ControlApi(context, drain).register(app);
        new TableApi(context).register(app);
        new TrackedApi(context, liveness).register(app);
        if (tls != null) {
            app.start();
        } else {
            app.start(bind, port);
        }
        api.routes.addAll(routes);
        liveness.start();
        push.startSweeping(); // uploads given up are deleted now and every hour
        api.push = push;
        return api;
    }

    /** Every route Javalin has, as it registered them (the route walk of the tests reads this too, via /routes). */
    public List<Route> routes() {
        return List.copyOf(routes);
    }

    public int port() {
        return app.port();
    }

    static void json(Context ctx, com.fasterxml.jackson.databind.JsonNode body) {
        ctx.contentType("application/json").result(body.toString());
    }

    static void error(Context ctx, int status, String message, String field) {
        ObjectNode n = Json.object().put("error", message);
        n.put("field", field);
        ctx.status(status);
        json(ctx, n);
    }

    /** The token the request bore, once {@link #authorize} let it through. */
    static Tokens.Token token(Context ctx) {
        return ctx.attribute(TOKEN_ATTRIBUTE);
    }

    private static void authorize(Tokens tokens, Context ctx) {
        if (ctx.path().equals(PREFIX + "/health")) {
            return;
        }
        String header = ctx.header("Authorization");
        String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : null;
        Optional<Tokens.Token> token = presented == null ? Optional.empty() : tokens.authenticate(presented);
        if (token.isEmpty()) {
            ctx.header("WWW-Authenticate", "Bearer realm=\"sortie\"");
            throw new ApiError(401, presented == null ? "a token is needed: send 'Authorization: Bearer TOKEN' (make one with 'sortie server token create')"
                    : "the token is not valid (unknown or revoked)", "Authorization");
        }
        String run = token.get().experiment();
        if (run != null && !(ctx.method() == HandlerType.POST && ctx.path().equals(PREFIX + "/reports/" + run))) {
            // a run's token (SORTIE_TOKEN on its host) reports about that run and does nothing else
            throw new ApiError(403, "this token is the token of run " + run + ": it may only POST " + PREFIX + "/reports/" + run, "Authorization");
        }
        if (token.get().readOnly() && WRITES.contains(ctx.method())) {
            throw new ApiError(403, "token '" + token.get().name() + "' is read-only; " + ctx.method() + " needs a read-write token", "Authorization");
        }
        ctx.attribute(TOKEN_ATTRIBUTE, token.get());
    }

    @Override
    public void close() {
        liveness.close();
        if (push != null) {
            push.close();
        }
        app.stop();
    }
}
