package dev.sortie.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.ledger.Condition;
import dev.sortie.core.ledger.TableColumns;
import dev.sortie.core.ledger.TablePage;
import dev.sortie.core.ledger.TableQuery;
import dev.sortie.core.model.ExperimentView;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /table}: the experiments table for {@code sortie show} through the server, streamed (NDJSON), each row
 * written to the connection as it is made, never the whole answer held in memory. Without query params, every row in
 * creation order (one read of the ledger). With show's {@code sort}, {@code order}, {@code filter}, {@code limit},
 * {@code offset} and {@code columns}, the page the database works out ({@link dev.sortie.core.ledger.Ledger#tablePage}),
 * after a first line with the table's column names ({@link dev.sortie.core.ledger.Ledger#columns}), which show needs
 * for its default columns and to check names as it does locally; fields are named as show names them (a bare name is
 * the param wherever any experiment has that param, else the metric; {@code m:NAME} the metric).
 */
final class TableApi {
    private static final Set<String> PAGE_PARAMS = Set.of("sort", "order", "filter", "limit", "offset", "columns");
    private final ServerContext context;

    TableApi(ServerContext context) {
        this.context = context;
    }

    void register(Javalin app) {
        app.get(ApiServer.PREFIX + "/table", this::table);
    }

    private void table(Context ctx) throws IOException {
        if (ctx.queryParamMap().keySet().stream().noneMatch(PAGE_PARAMS::contains)) {
            whole(ctx);
            return;
        }
        String order = ctx.queryParam("order");
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw ApiError.badRequest("order", "order '" + order + "': expected asc or desc");
        }
        int limit = ExperimentsApi.intParam(ctx, "limit", Integer.MAX_VALUE, 0, Integer.MAX_VALUE);
        int offset = ExperimentsApi.intParam(ctx, "offset", 0, 0, Integer.MAX_VALUE);
        TableColumns columns = context.ledger().columns();
        List<Condition> filters = new ArrayList<>();
        for (String f : ctx.queryParams("filter")) {
            Condition c;
            try {
                c = Condition.parse(f);
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("filter", e.getMessage());
            }
            filters.add(new Condition(c.text(), ledgerField(c.field(), columns), c.op(), c.value()));
        }
        String sort = ctx.queryParam("sort");
        TableQuery query = new TableQuery(filters, sort == null || sort.isBlank() ? null : ledgerField(sort, columns), "desc".equals(order),
                limit, offset);
        List<String> shown = null;
        String cols = ctx.queryParam("columns");
        if (cols != null && !cols.isBlank()) {
            shown = List.of(cols.split(","));
        }
        TablePage page = context.ledger().tablePage(query);
        ctx.contentType("application/x-ndjson");
        ctx.header("X-Sortie-Total", String.valueOf(page.rows().size()));
        ctx.header("X-Sortie-Matching", String.valueOf(page.total()));
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(ctx.outputStream())) {
            g.setRootValueSeparator(null);
            ObjectNode head = Json.object();
            ObjectNode names = head.putObject("columns");
            columns.params().forEach(names.putArray("params")::add);
            columns.metrics().forEach(names.putArray("metrics")::add);
            names.put("stages", columns.stages());
            head.put("total", page.total());
            Json.MAPPER.writeTree(g, head);
            g.writeRaw('\n');
            for (ExperimentView v : page.rows()) {
                Json.MAPPER.writeTree(g, shown == null ? Json.experiment(v.experiment(), v.metrics()) : cut(v, shown, columns));
                g.writeRaw('\n');
            }
        }
    }

    /** Every row, oldest first: the answer for a client that sorts and filters itself. */
    private void whole(Context ctx) throws IOException {
        var views = context.ledger().views();
        ctx.contentType("application/x-ndjson");
        ctx.header("X-Sortie-Total", String.valueOf(views.size()));
        OutputStream out = ctx.outputStream();
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.setRootValueSeparator(null);
            for (ExperimentView v : views) {
                Json.MAPPER.writeTree(g, Json.experiment(v.experiment(), v.metrics()));
                g.writeRaw('\n');
            }
        }
    }

    /**
     * A field as show names it, as the ledger's page names it: a bare name is the param wherever any experiment has that
     * param (a row without it has no value, even where it has a metric of that name), else the metric; {@code m:NAME} is
     * the metric named like a param.
     */
    static String ledgerField(String field, TableColumns columns) {
        if (field.startsWith("m:") && columns.metrics().contains(field.substring(2))) {
            return "metrics." + field.substring(2);
        }
        if (TableQuery.BUILTINS.contains(field)) {
            return field;
        }
        if (columns.params().contains(field)) {
            return "params." + field;
        }
        if (columns.metrics().contains(field)) {
            return "metrics." + field;
        }
        return field;
    }

    /** A row with only the params and metrics of the chosen columns (params flat, by their dotted keys). */
    private static ObjectNode cut(ExperimentView v, List<String> shown, TableColumns columns) {
        Map<String, Object> params = new LinkedHashMap<>();
        Map<String, Object> all = v.experiment().params().flatten();
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (String c : shown) {
            if (all.containsKey(c)) {
                params.put(c, all.get(c));
            }
            String metric = c.startsWith("m:") ? c.substring(2) : columns.params().contains(c) ? null : c;
            if (metric != null && v.metrics().containsKey(metric)) {
                metrics.put(metric, v.metrics().get(metric));
            }
        }
        var e = v.experiment();
        var trimmed = new dev.sortie.core.model.Experiment(e.id(), e.name(), e.status(), e.executor(), e.command(),
                dev.sortie.core.params.Params.of(params), e.code(), e.task(), e.createdAt(), e.startedAt(), e.endedAt(), e.exitCode(),
                e.error(), e.attempt(), e.handle());
        return Json.experiment(trimmed, metrics);
    }
}
