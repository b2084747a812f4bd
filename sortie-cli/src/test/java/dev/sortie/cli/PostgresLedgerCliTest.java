package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.PostgresExtension;
import dev.sortie.ledger.PostgresLedger;
import dev.sortie.ledger.PostgresServer;
import dev.sortie.ledger.PostgresUrl;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI on a PostgreSQL ledger (the test run's real server): {@code ledger:} in the project's config, and
 * {@code SORTIE_LEDGER} with {@code PGPASSWORD} in a worker's environment, both on the same database; nothing in
 * {@code .sortie/ledger.db}.
 */
@ExtendWith(PostgresExtension.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PostgresLedgerCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static PostgresServer pg;

    @TempDir
    Path tmp;
    TestProject project;
    PostgresUrl url;

    @BeforeEach
    void setUp() throws Exception {
        url = pg.newDatabase();
        project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", """
                        run: python3 job.py ${lr}
                        params: {lr: 0.1}
                        """)
                .write("job.py", """
                        import os, sys
                        if 'RUNS_FILE' in os.environ:
                            with open(os.environ['RUNS_FILE'], 'a') as f:
                                f.write(os.environ['SORTIE_EXPERIMENT_NAME'] + '\\n')
                        print(f'metric={float(sys.argv[1]) * 2}')
                        """)
                .commit();
        assertThat(project.sortie("init").code()).isZero();
        // the password in the URL, percent-encoded (it has ':', '@', '/' and '%'), as a user would write it
        String withPassword = "postgresql://" + PostgresServer.USER + ":" + URLEncoder.encode(pg.password(), StandardCharsets.UTF_8)
                + "@127.0.0.1:" + pg.port() + "/" + url.database();
        Path config = project.dir.resolve(".sortie/config.yaml");
        Files.writeString(config, Files.readString(config) + "\nledger: '" + withPassword + "'\n");
        // init made the SQLite file before the project chose PostgreSQL: gone, so the tests see nothing writes it again
        for (String f : List.of("ledger.db", "ledger.db-wal", "ledger.db-shm")) {
            Files.deleteIfExists(project.dir.resolve(".sortie").resolve(f));
        }
    }

    @Test
    void runShowAndTheQueueUseTheConfiguredDatabase() throws Exception {
        TestProject.Result run = project.sortie("run", "-S", "lr=0.25");
        assertThat(run.code()).as(run.err()).isZero();
        JsonNode shown = JSON.readTree(project.sortie("show", "--json").out());
        assertThat(shown).hasSize(1);
        assertThat(shown.get(0).toString()).contains("succeeded").contains("0.5");
        assertThat(project.dir.resolve(".sortie/ledger.db")).as("no SQLite file made again").doesNotExist();
        assertThat(run.out() + run.err()).doesNotContain(secret());
        // a command whose ledger cannot be opened (a wrong password) says so without the password, here or in the log
        Path config = project.dir.resolve(".sortie/config.yaml");
        String good = Files.readString(config);
        Files.writeString(config, good.replace("@127.0.0.1", "x@127.0.0.1"));
        TestProject.Result refused = project.sortie("-vv", "show");
        assertThat(refused.code()).isEqualTo(3);
        assertThat(refused.err()).contains("password authentication failed").doesNotContain(secret());
        Files.writeString(config, good);
        Path log = project.dir.resolve(".sortie/logs/sortie.log");
        if (Files.exists(log)) {
            assertThat(Files.readString(log)).doesNotContain(secret());
        }

        try (Ledger direct = PostgresLedger.open(pg.urlWithPassword(url.database()))) {
            assertThat(direct.list()).singleElement().satisfies(e -> {
                assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
                assertThat(e.params().get("lr")).contains(0.25);
            });
            assertThat(direct.latestMetrics(direct.list().get(0).id())).containsEntry("metric", 0.5);
        }
    }

    @Test
    void twoWorkerProcessesDrainOneQueueAndRunEachExperimentOnce() throws Exception {
        int n = 12;
        assertThat(project.sortie("run", "--queue", "-q", "-S",
                "lr=" + IntStream.rangeClosed(1, n).mapToObj(Integer::toString).collect(Collectors.joining(","))).code()).isZero();
        Path runs = tmp.resolve("runs.txt");
        Process a = worker(runs);
        Process b = worker(runs);
        assertThat(a.waitFor(3, TimeUnit.MINUTES)).isTrue();
        assertThat(b.waitFor(3, TimeUnit.MINUTES)).isTrue();
        assertThat(a.exitValue()).isZero();
        assertThat(b.exitValue()).isZero();

        Map<String, Long> perExperiment = Files.readAllLines(runs).stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(perExperiment).hasSize(n);
        assertThat(perExperiment.values()).containsOnly(1L);
        try (Ledger direct = PostgresLedger.open(pg.urlWithPassword(url.database()))) {
            assertThat(direct.countByStatus(ExperimentStatus.SUCCEEDED)).isEqualTo(n);
            assertThat(direct.list()).extracting(e -> e.handle() == null ? null : e.handle().host()).doesNotContainNull();
        }
    }

    /** {@code sortie queue start} as a process of its own, its ledger from SORTIE_LEDGER and PGPASSWORD. */
    private Process worker(Path runs) throws Exception {
        Path out = Files.createTempFile(tmp, "worker", ".log");
        ProcessBuilder pb = project.processBuilder(out, "queue", "start", "-j", "2");
        pb.environment().put("RUNS_FILE", runs.toString());
        pb.environment().put("SORTIE_LEDGER", url.redacted());
        pb.environment().put("PGPASSWORD", pg.password());
        return pb.start();
    }

    /** The password's random part (its 16 hex digits): found whether it leaks as written or percent-encoded. */
    private static String secret() {
        return pg.password().substring(3, 19);
    }
}
