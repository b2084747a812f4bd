package dev.sortie.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.params.Params;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Runs started by hand (a script, a notebook) on a user's machine whose SDK reports to the server
 * ({@code SORTIE_SERVER} and {@code SORTIE_TOKEN} set, outside a scheduled run): {@code POST /tracked} records the
 * run in the server's table; its metrics and its end then come as reports ({@code POST /reports/{id}}, attempt 1).
 * The SDK chooses the id, so sending the same creation again (after a timeout whose answer was lost, or while the
 * server restarted) gives the run it made the first time: never two rows for one run. A second creation may add
 * params ({@code log_params} after {@code start}).
 */
final class TrackedApi {
    static final String EXECUTOR_PREFIX = "sdk@";
    private static final Set<String> FIELDS = Set.of("id", "name", "project", "params", "command", "host");
    private static final Pattern ID = Pattern.compile("[0-9a-f]{10}");
    /** What an executor name may hold (ExecutorCommand's rule); a host name outside it is not used. */
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private final ServerContext context;

    private final TrackedLiveness liveness;

    TrackedApi(ServerContext context, TrackedLiveness liveness) {
        this.context = context;
        this.liveness = liveness;
    }

    void register(Javalin app) {
        app.post(ApiServer.PREFIX + "/tracked", this::open);
    }

    private void open(Context ctx) {
        JsonNode body = ExperimentsApi.body(ctx);
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw ApiError.badRequest(f, "unknown field '" + f + "'; valid fields: " + String.join(", ", new java.util.TreeSet<>(FIELDS)));
            }
        }
        String id = ExperimentsApi.text(body, "id");
        if (id == null || !ID.matcher(id).matches()) {
            throw ApiError.badRequest("id", "'id' is needed: 10 lowercase hex digits the SDK chose for this run (a resend gives the same run)");
        }
        String name = ExperimentsApi.text(body, "name");
        String project = ExperimentsApi.text(body, "project");
        String base = project != null && HOST.matcher(project).matches() ? project : "tracked";
        Map<String, Object> params = params(body.get("params"));
        List<String> command = new ArrayList<>();
        JsonNode cmd = body.get("command");
        if (cmd != null && !cmd.isNull()) {
            if (!cmd.isArray()) {
                throw ApiError.badRequest("command", "'command' must be an array of strings (the program's argv, shown as its command)");
            }
            for (int i = 0; i < cmd.size(); i++) {
                if (!cmd.get(i).isTextual()) {
                    throw ApiError.badRequest("command[" + i + "]", "'command' must be an array of strings");
                }
                command.add(cmd.get(i).asText());
            }
        }
        String host = ExperimentsApi.text(body, "host");
        String where = EXECUTOR_PREFIX + (host != null && HOST.matcher(host).matches() ? host : "unknown");

        liveness.seen(id, true);
        Optional<Experiment> existing = context.ledger().find(id);
        if (existing.isPresent()) {
            ApiServer.json(ctx, withHeartbeat(Json.experiment(again(existing.get(), params), Map.of())));
            return;
        }
        Experiment made;
        try {
            made = context.service().openReported(id, name, base, Params.of(params), command, where);
        } catch (dev.sortie.core.config.ConfigException e) {
            throw ApiError.badRequest("name", e.getMessage());
        } catch (RuntimeException e) {
            // two creations of one run at once: the first made it, this one answers it
            Optional<Experiment> raced = context.ledger().find(id);
            if (raced.isEmpty()) {
                throw e;
            }
            made = again(raced.get(), params);
        }
        ctx.status(201);
        ApiServer.json(ctx, withHeartbeat(Json.experiment(made, Map.of())));
    }

    /**
     * The answer tells the SDK how often to post when it has nothing to report ({@code heartbeat_s}) and after how long
     * without a post the server ends the run lost ({@code lost_after_s}).
     */
    private com.fasterxml.jackson.databind.JsonNode withHeartbeat(com.fasterxml.jackson.databind.JsonNode experiment) {
        if (experiment instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
            o.put("heartbeat_s", liveness.heartbeat().toMillis() / 1000.0);
            o.put("lost_after_s", liveness.lostAfter().toSeconds());
        }
        return experiment;
    }

    /** The run this id made before (a resend), with any new params added; another experiment's id is a conflict. */
    private Experiment again(Experiment e, Map<String, Object> params) {
        if (!TaskSource.fromJson(e.task()).tracked() || !e.executor().startsWith(EXECUTOR_PREFIX)) {
            throw new ApiError(409, "id " + e.id() + " is experiment " + e.name() + ", not a run an SDK reported; choose another id", "id");
        }
        if (params.isEmpty()) {
            return e;
        }
        Map<String, Object> merged = new LinkedHashMap<>(e.params().asMap());
        merged.putAll(params);
        Params p = Params.of(merged);
        if (p.equals(e.params())) {
            return e;
        }
        Experiment updated = new Experiment(e.id(), e.name(), e.status(), e.executor(), e.command(), p, e.code(), e.task(), e.createdAt(),
                e.startedAt(), e.endedAt(), e.exitCode(), e.error(), e.attempt(), e.handle());
        for (int i = 0; i < 5; i++) {
            if (context.ledger().update(updated, e.status())) {
                return updated;
            }
            e = context.ledger().find(e.id()).orElseThrow();
            updated = new Experiment(e.id(), e.name(), e.status(), e.executor(), e.command(), p, e.code(), e.task(), e.createdAt(),
                    e.startedAt(), e.endedAt(), e.exitCode(), e.error(), e.attempt(), e.handle());
        }
        throw new ApiError(409, "experiment " + e.name() + " kept changing while its params were added; send them again", "params");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> params(JsonNode n) {
        if (n == null || n.isNull()) {
            return Map.of();
        }
        if (!n.isObject()) {
            throw ApiError.badRequest("params", "'params' must be an object of name to value (nested objects allowed)");
        }
        return Json.MAPPER.convertValue(n, LinkedHashMap.class);
    }
}
