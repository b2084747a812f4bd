package dev.sortie.server;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sortie.core.model.ExperimentView;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;

/**
 * {@code GET /table}: the whole experiments table in one streamed answer, for {@code sortie show} through the server,
 * which prints every row: the same one read of the ledger as a local {@code show} (no page queried after page),
 * each row written to the connection as it is made (NDJSON), never the whole answer held in memory.
 */
final class TableApi {
    private final ServerContext context;

    TableApi(ServerContext context) {
        this.context = context;
    }

    void register(Javalin app) {
        app.get(ApiServer.PREFIX + "/table", this::table);
    }

    private void table(Context ctx) throws IOException {
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
}
