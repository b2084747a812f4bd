package dev.sortie.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.core.executor.Provisioning;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.List;

/** The queue and the executors, as the server sees them. */
final class QueueApi {
    private static final System.Logger LOG = System.getLogger(QueueApi.class.getName());
    private final ServerContext context;

    QueueApi(ServerContext context) {
        this.context = context;
    }

    void register(Javalin app) {
        app.get(ApiServer.PREFIX + "/queue", this::queue);
        app.get(ApiServer.PREFIX + "/executors", this::executors);
    }

    private void queue(Context ctx) {
        List<Experiment> queued = context.ledger().listByStatus(List.of(ExperimentStatus.QUEUED));
        ObjectNode out = Json.object();
        out.put("queued", queued.size());
        out.put("running", context.ledger().countByStatus(ExperimentStatus.RUNNING));
        ArrayNode arr = out.putArray("experiments");
        int position = 1;
        for (Experiment e : queued) {
            ObjectNode n = Json.experiment(e, java.util.Map.of());
            n.put("position", position++);
            arr.add(n);
        }
        ApiServer.json(ctx, out);
    }

    /**
     * The hosts an executor names in its config (an ssh executor's {@code host}, a pool's {@code hosts}: names of
     * ssh executors or inline settings), and for each, the experiments running there now.
     */
    private void hosts(ExecutorSpec spec, ObjectNode n) {
        com.fasterxml.jackson.databind.JsonNode opts = spec.options();
        if (opts == null) {
            return; // the built-in local executor has no options
        }
        List<String> hosts = new java.util.ArrayList<>();
        if (opts.path("host").isTextual()) {
            hosts.add(opts.get("host").asText());
        }
        for (com.fasterxml.jackson.databind.JsonNode h : opts.path("hosts")) {
            if (h.isTextual()) {
                hosts.add(h.asText());
            } else if (h.path("host").isTextual()) {
                hosts.add(h.get("host").asText());
            }
        }
        if (!hosts.isEmpty()) {
            ArrayNode arr = n.putArray("hosts");
            hosts.forEach(arr::add);
        }
    }

    /**
     * Each configured executor with its type and, for those that start machines of their own (the provisioning
     * SPI), their instances with state, address and cost so far. An executor that cannot be asked says why.
     */
    private void executors(Context ctx) {
        ArrayNode arr = Json.array();
        Instant now = Instant.now();
        List<Experiment> running = context.ledger().listByStatus(List.of(ExperimentStatus.RUNNING));
        for (String name : context.executors().names()) {
            ExecutorSpec spec = context.executors().spec(name);
            ObjectNode n = arr.addObject();
            n.put("name", name);
            n.put("type", spec.type());
            n.put("running", running.stream().filter(e -> e.executor().equals(name)).count());
            hosts(spec, n);
            try {
                if (context.executors().get(name) instanceof Provisioning p) {
                    ArrayNode instances = n.putArray("instances");
                    for (Provisioning.Instance i : p.cloudInstances()) {
                        if (!name.equals(i.executor())) {
                            continue;
                        }
                        ObjectNode in = instances.addObject();
                        in.put("id", i.id());
                        in.put("state", i.state());
                        in.put("type", i.type());
                        in.put("spot", i.spot());
                        in.put("ready", i.ready());
                        in.put("address", i.address());
                        in.put("launched", Json.time(i.launched()));
                        Json.number(in, "price_per_hour_usd", i.pricePerHour());
                        Json.number(in, "cost_usd", i.costSoFar(now));
                    }
                }
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "listing the instances of executor " + name + " failed", e);
                n.put("error", "cannot list its instances: " + e.getMessage());
            }
        }
        ApiServer.json(ctx, Json.object().set("executors", arr));
    }
}
