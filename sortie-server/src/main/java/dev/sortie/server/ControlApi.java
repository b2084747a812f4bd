package dev.sortie.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.engine.ExecutorInstances;
import dev.sortie.core.engine.QueueWorker;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.executor.Provisioning;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code sortie status}, {@code queue start|stop|remove} and {@code remove} do through the server (API.md):
 * the experiments in flight with where they run and each executor's machines; the server's own queue workers
 * stopped and started; experiments taken out of the table.
 */
final class ControlApi {
    private static final System.Logger LOG = System.getLogger(ControlApi.class.getName());
    /** How long {@code DELETE ?force=true} waits for a stopped run's end before it gives up (the local --force's wait). */
    static final Duration FORCE_WAIT = Duration.ofSeconds(10);
    private final ServerContext context;
    private final QueueDrain drain;

    ControlApi(ServerContext context, QueueDrain drain) {
        this.context = context;
        this.drain = drain;
    }

    void register(Javalin app) {
        app.get(ApiServer.PREFIX + "/status", this::status);
        app.post(ApiServer.PREFIX + "/queue/start", this::start);
        app.post(ApiServer.PREFIX + "/queue/stop", this::stop);
        app.delete(ApiServer.PREFIX + "/experiments/{id}", this::remove);
    }

    private void status(Context ctx) {
        var service = context.service();
        List<Experiment> inFlight = context.ledger().listByStatus(List.of(ExperimentStatus.RUNNING, ExperimentStatus.QUEUED));
        ObjectNode out = Json.object();
        ArrayNode exps = out.putArray("experiments");
        for (Experiment e : inFlight) {
            ObjectNode n = Json.experiment(e, context.ledger().latestMetrics(e.id()));
            LocatorDescription where = e.handle() == null ? null : context.executors().describe(e.handle());
            n.put("host", where == null ? null : where.host());
            if (where == null || where.pid() == 0) {
                n.putNull("pid");
            } else {
                n.put("pid", where.pid());
            }
            exps.add(n);
        }
        ArrayNode names = out.putArray("executors");
        context.executors().names().forEach(names::add);
        ArrayNode instances = out.putArray("instances");
        for (ExecutorInstances.Instance i : ExecutorInstances.of(service, inFlight)) {
            instances.addObject().put("executor", i.executor()).put("type", i.type()).put("host", i.host())
                    .put("running", i.running()).put("state", i.state());
        }
        ArrayNode cloud = out.putArray("cloud_instances");
        ArrayNode volumes = out.putArray("volumes");
        ArrayNode errors = out.putArray("errors");
        Set<String> seen = new HashSet<>();
        Set<String> seenVolumes = new HashSet<>();
        for (String name : context.executors().names()) {
            Provisioning p;
            try {
                if (!(context.executors().get(name) instanceof Provisioning q)) {
                    continue;
                }
                p = q;
            } catch (RuntimeException x) {
                continue; // a broken config is reported by 'sortie executor list'
            }
            try {
                for (Provisioning.Instance i : p.cloudInstances()) {
                    if (seen.add(i.id())) {
                        ObjectNode n = cloud.addObject().put("id", i.id()).put("executor", i.executor()).put("project", i.project())
                                .put("state", i.state()).put("type", i.type()).put("spot", i.spot()).put("launched", Json.time(i.launched()))
                                .put("address", i.address()).put("ready", i.ready());
                        Json.number(n, "price_per_hour_usd", i.pricePerHour());
                    }
                }
            } catch (IOException | RuntimeException x) {
                LOG.log(System.Logger.Level.WARNING, "listing the instances of executor " + name + " failed", x);
                errors.add("cannot list the instances of " + name + ": " + x.getMessage());
            }
            try {
                for (Provisioning.Volume v : p.volumes()) {
                    if (seenVolumes.add(v.id())) {
                        volumes.addObject().put("name", v.name()).put("id", v.id()).put("executor", v.executor()).put("zone", v.zone())
                                .put("size_gb", v.sizeGb()).put("state", v.state()).put("attached_to", v.attachedTo());
                    }
                }
            } catch (IOException | RuntimeException x) {
                LOG.log(System.Logger.Level.WARNING, "listing the volumes of executor " + name + " failed", x);
                errors.add("cannot list the volumes of " + name + ": " + x.getMessage());
            }
        }
        ArrayNode silent = out.putArray("unreachable");
        for (DetachableExecutor.HostSilence h : service.silentHosts()) {
            ObjectNode n = silent.addObject().put("host", h.host()).put("display", h.display()).put("since", Json.time(h.since()))
                    .put("reason", h.reason());
            if (h.lostAfter() == null) {
                n.putNull("lost_after_s");
            } else {
                n.put("lost_after_s", h.lostAfter().toSeconds());
            }
        }
        ArrayNode failed = out.putArray("recovery_failed");
        for (dev.sortie.core.engine.FailedRecoveries.Failed f : new dev.sortie.core.engine.FailedRecoveries(context.ledger()).list()) {
            // the server's recovery loop launched it: how that went is in the server's own log
            failed.addObject().put("id", f.experiment().id()).put("name", f.experiment().name()).put("attempt", f.experiment().attempt())
                    .put("lost_attempt", f.lostAttempt()).put("why", f.why()).put("log", "the server's log " + context.paths().sortieLogFile());
        }
        out.set("workers", workers(drain.states()));
        ApiServer.json(ctx, out);
    }

    private void start(Context ctx) {
        JsonNode body = ExperimentsApi.body(ctx);
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("executor") && !f.equals("jobs")) {
                throw ApiError.badRequest(f, "unknown field '" + f + "': expected executor, jobs");
            }
        }
        String executor = null;
        if (body.hasNonNull("executor")) {
            if (!body.get("executor").isTextual()) {
                throw ApiError.badRequest("executor", "expected an executor's name");
            }
            executor = body.get("executor").asText();
        }
        Integer jobs = null;
        if (body.hasNonNull("jobs")) {
            if (!body.get("jobs").canConvertToInt() || body.get("jobs").asInt() < 1 || body.get("jobs").asInt() > 256) {
                throw ApiError.badRequest("jobs", "expected a whole number of runs at a time, 1 to 256");
            }
            jobs = body.get("jobs").asInt();
        }
        if (!drain.present()) {
            throw new ApiError(409, "this server runs no queue workers (started with --workers 0): run 'sortie queue start' where the"
                    + " ledger is, or restart the server with --workers N", null);
        }
        List<ServerWorkers.State> states;
        try {
            states = drain.restart(executor, jobs);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("executor", e.getMessage());
        }
        ApiServer.json(ctx, counts().set("workers", workers(states)));
    }

    private void stop(Context ctx) {
        context.ledger().setControl(QueueWorker.STOP_CONTROL, Instant.now().toString());
        ApiServer.json(ctx, counts());
    }

    private ObjectNode counts() {
        return Json.object().put("queued", context.ledger().countByStatus(ExperimentStatus.QUEUED))
                .put("running", context.ledger().countByStatus(ExperimentStatus.RUNNING));
    }

    private static ArrayNode workers(List<ServerWorkers.State> states) {
        ArrayNode arr = Json.array();
        for (ServerWorkers.State s : states) {
            arr.addObject().put("executor", s.executor()).put("jobs", s.slots()).put("draining", s.draining());
        }
        return arr;
    }

    /**
     * Takes an experiment out of the table with its logs. {@code queued=true}: only if it is still queued (a worker
     * that claimed it first wins: 409). A running one: 409, unless {@code force=true}, which stops it and waits for
     * its end first.
     */
    private void remove(Context ctx) throws Exception {
        Experiment e = context.service().find(ctx.pathParam("id"));
        boolean queuedOnly = "true".equals(ctx.queryParam("queued"));
        boolean force = "true".equals(ctx.queryParam("force"));
        if (queuedOnly) {
            if (e.status() != ExperimentStatus.QUEUED) {
                throw new ApiError(409, e.name() + " is not queued (" + e.status().label() + "); 'sortie remove' removes finished experiments", null);
            }
            if (!context.service().removeQueued(e)) {
                throw new ApiError(409, e.name() + " was claimed by a worker before it could be taken out of the queue", null);
            }
        } else {
            if (e.status() == ExperimentStatus.RUNNING && force) {
                context.service().stop(e.id(), ExperimentsApi.STOP_GRACE);
                long deadline = System.nanoTime() + FORCE_WAIT.plus(ExperimentsApi.STOP_GRACE).toNanos();
                e = context.service().find(e.id());
                while (e.status() == ExperimentStatus.RUNNING && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                    e = context.service().find(e.id());
                }
            }
            if (e.status() == ExperimentStatus.RUNNING) {
                throw new ApiError(409, "experiment '" + e.name() + "' is running; stop it first ('sortie stop " + e.name()
                        + "') or remove it with --force", null);
            }
            if (e.status() == ExperimentStatus.QUEUED) {
                if (!context.service().removeQueued(e)) {
                    throw new ApiError(409, e.name() + " was claimed by a worker before it could be removed: stop it first", null);
                }
            } else {
                context.service().remove(e);
            }
        }
        ApiServer.json(ctx, Json.object().put("removed", e.id()).put("name", e.name()));
    }
}
