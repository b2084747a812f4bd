package dev.sortie.ledger;

import static dev.sortie.ledger.TestExperiments.T0;
import static dev.sortie.ledger.TestExperiments.full;
import static dev.sortie.ledger.TestExperiments.points;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sortie.core.ledger.LedgerException;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.RunLocator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a PostgreSQL ledger's password comes from (the URL, PGPASSWORD, the password file: nowhere else) and where
 * it never goes (messages, log lines at any level, the ledger's rows). The server's password has ':', '@', '/' and '%'
 * in it, which the URL and the password file must escape.
 */
@ExtendWith(PostgresExtension.class)
class PostgresPasswordTest {
    static PostgresServer pg;
    @TempDir
    Path home;

    @Test
    void thePasswordIsTheUrlsThenPgpasswordsThenThePasswordFilesAndNothingElse() throws Exception {
        PostgresUrl url = pg.newDatabase();
        Path nowhere = home.resolve("nowhere");

        // written in the URL (percent-encoded, as a user writes it), with nothing in the environment
        String written = "postgresql://sortie:" + java.net.URLEncoder.encode(pg.password(), java.nio.charset.StandardCharsets.UTF_8)
                + "@127.0.0.1:" + pg.port() + "/" + url.database();
        try (PostgresLedger ledger = PostgresLedger.open(PostgresUrl.parse(written), Map.of(), nowhere)) {
            assertThat(ledger.count()).isZero();
        }
        // PGPASSWORD
        try (PostgresLedger ledger = PostgresLedger.open(url, Map.of("PGPASSWORD", pg.password()), nowhere)) {
            assertThat(ledger.count()).isZero();
        }
        // ~/.pgpass, ':' and '\' escaped, after a line for another database
        Path pgpass = home.resolve(".pgpass");
        String escaped = pg.password().replace("\\", "\\\\").replace(":", "\\:");
        Files.writeString(pgpass, "# comment\n127.0.0.1:" + pg.port() + ":other:sortie:wrong\n*:" + pg.port() + ":" + url.database()
                + ":sortie:" + escaped + "\n");
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-------"));
        try (PostgresLedger ledger = PostgresLedger.open(url, Map.of(), home)) {
            assertThat(ledger.count()).isZero();
        }
        // PGPASSFILE instead of ~/.pgpass
        try (PostgresLedger ledger = PostgresLedger.open(url, Map.of("PGPASSFILE", pgpass.toString()), nowhere)) {
            assertThat(ledger.count()).isZero();
        }
        // a password file others can read is ignored, as libpq ignores it
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-r--r--"));
        LedgerException ignored = catchThrowableOfType(LedgerException.class, () -> PostgresLedger.open(url, Map.of(), home));
        assertThat(ignored).hasMessageContaining("cannot open the ledger at postgresql://sortie@127.0.0.1:" + pg.port() + "/" + url.database());
        // the URL's password wins over PGPASSWORD's
        LedgerException wrong = catchThrowableOfType(LedgerException.class,
                () -> PostgresLedger.open(new PostgresUrl("127.0.0.1", pg.port(), url.database(), "sortie", "not-it", Map.of()),
                        Map.of("PGPASSWORD", pg.password()), nowhere));
        assertThat(wrong).hasMessageContaining("password authentication failed");
    }

    @Test
    void thePasswordIsInNoMessageNoLogLineAndNoRowOfTheLedger() throws Exception {
        PostgresUrl url = pg.newDatabase();
        List<String> logged = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                StringBuilder all = new StringBuilder(String.valueOf(r.getMessage()));
                if (r.getParameters() != null) {
                    for (Object p : r.getParameters()) {
                        all.append(' ').append(p);
                    }
                }
                if (r.getThrown() != null) {
                    StringWriter trace = new StringWriter();
                    r.getThrown().printStackTrace(new PrintWriter(trace));
                    all.append(' ').append(trace);
                }
                synchronized (logged) {
                    logged.add(all.toString());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        Level before = root.getLevel();
        root.addHandler(capture);
        root.setLevel(Level.ALL); // every level, the driver's FINEST included
        List<String> said = new ArrayList<>();
        try {
            PostgresUrl withPassword = pg.urlWithPassword(url.database());
            said.add(withPassword.toString());
            said.add(withPassword.redacted());
            said.add(withPassword.jdbcUrl());
            try (PostgresLedger ledger = PostgresLedger.open(withPassword, Map.of(), home)) {
                said.add(ledger.toString());
                ledger.insert(full("0a1b2c3d4e5f", "brave-otter"));
                ledger.insert(TestExperiments.queued("q-1", "queued-1"));
                ledger.claimNext("local", new RunLocator("local", "w", "pid=1"), T0.plusSeconds(1)).orElseThrow();
                ledger.recordMetrics("q-1", points("loss", 5, 0.1));
                ledger.update(ledger.find("q-1").orElseThrow().ended(ExperimentStatus.SUCCEEDED, T0.plusSeconds(9), 0, null),
                        ExperimentStatus.RUNNING);
                ledger.setControl("queue.stop", "1");
                said.add(catchThrowableOfType(LedgerException.class, () -> ledger.insert(TestExperiments.queued("q-1", "again"))).toString());
            }
            for (String badPassword : new String[] {pg.password() + "x", pg.password()}) {
                // a wrong password, and the right one for a database that does not exist
                PostgresUrl bad = new PostgresUrl("127.0.0.1", pg.port(), badPassword.equals(pg.password()) ? "missing" : url.database(),
                        "sortie", badPassword, Map.of());
                LedgerException e = catchThrowableOfType(LedgerException.class, () -> PostgresLedger.open(bad, Map.of(), home));
                StringWriter trace = new StringWriter();
                e.printStackTrace(new PrintWriter(trace));
                said.add(trace.toString());
            }
            LedgerException refused = catchThrowableOfType(LedgerException.class,
                    () -> PostgresLedger.open(url, Map.of("PGPASSWORD", pg.password() + "x"), home));
            said.add(String.valueOf(refused));
        } finally {
            root.setLevel(before);
            root.removeHandler(capture);
        }
        assertThat(logged).as("the driver and the ledger did log something").isNotEmpty();
        for (String text : said) {
            assertThat(text).doesNotContain(pg.password()).doesNotContain(secret());
        }
        synchronized (logged) {
            for (String line : logged) {
                assertThat(line).doesNotContain(pg.password()).doesNotContain(secret());
            }
        }
        // every text column of every table of the ledger, Flyway's history included
        try (Connection c = pg.connect(url.database()); Statement s = c.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            assertThat(tables).contains("experiments", "metric_points", "control", "flyway_schema_history");
            for (String table : tables) {
                try (ResultSet rs = s.executeQuery("SELECT CAST(t.* AS TEXT) FROM " + table + " t")) {
                    while (rs.next()) {
                        assertThat(rs.getString(1)).as(table).doesNotContain(secret());
                    }
                }
            }
        }
    }

    /** The password's random part (its 16 hex digits): found whether it leaks as written or percent-encoded. */
    private static String secret() {
        return pg.password().substring(3, 19);
    }
}
