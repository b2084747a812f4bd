package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.ledger.PostgresExtension;
import dev.sortie.ledger.PostgresLedger;
import dev.sortie.ledger.PostgresServer;
import dev.sortie.ledger.PostgresUrl;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sortie server --db postgresql://...}: the team's ledger and the server's tokens in the test run's real
 * PostgreSQL; a run queued through the API is drained and recorded there, and nothing goes into the folder's SQLite.
 */
@Tag("integration")
@ExtendWith(PostgresExtension.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ServerPostgresTest {
    static PostgresServer pg;

    @TempDir
    Path tmp;

    @Test
    void theServerKeepsItsTableAndTokensInPostgresql() throws Exception {
        PostgresUrl database = pg.newDatabase();
        // the password in the URL, percent-encoded (it has ':', '@', '/' and '%'), as a user would write it
        String url = "postgresql://" + PostgresServer.USER + ":" + URLEncoder.encode(pg.password(), StandardCharsets.UTF_8)
                + "@127.0.0.1:" + pg.port() + "/" + database.database();
        Path dir = tmp.resolve("server");
        ServerProcess.Result created = ServerProcess.sortie(dir, "server", "token", "create", "--name", "team", "--db", url);
        assertThat(created.code()).as(created.err()).isZero();
        String[] lines = created.out().strip().split("\n");
        String token = lines[lines.length - 1].strip();

        try (ServerProcess server = ServerProcess.start(dir, "--db", url)) {
            JsonNode queued = server.postJson("/api/v1/experiments", token,
                    "{\"command\": [\"sh\", \"-c\", \"echo step=1 loss=$0\", \"${lr}\"], \"params\": {\"lr\": 0.5}, \"name\": \"pg-1\"}", 201);
            String id = queued.get("id").asText();
            JsonNode done = server.awaitStatus(id, token, "succeeded");
            assertThat(done.get("metrics").get("loss").asDouble()).isEqualTo(0.5);
            assertThat(server.logsAndOutput()).doesNotContain(pg.password()).doesNotContain(token);
        }
        try (PostgresLedger ledger = PostgresLedger.open(pg.urlWithPassword(database.database()))) {
            assertThat(ledger.find("pg-1")).get().satisfies(e -> assertThat(e.status().name()).isEqualToIgnoringCase("succeeded"));
        }
        assertThat(Files.exists(dir.resolve(".sortie/ledger.db"))).as("no SQLite ledger beside it").isFalse();
    }
}
