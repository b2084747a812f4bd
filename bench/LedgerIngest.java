import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.params.Params;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What recording metrics costs the ledger itself (SQLite), the server's HTTP and the agents left out, so that two builds
 * (say before and after the rollups of V8) can be compared in one run on a busy machine:
 *   java -cp "sortie-cli/target/dist/lib/*" bench/LedgerIngest.java [EXPERIMENTS] [REPORTS] [BULK_POINTS]
 * "reports": REPORTS reports of 10 metrics x 1 point, round-robin over EXPERIMENTS experiments, as agents send them;
 * "bulk": one experiment's BULK_POINTS points of one metric in batches of 1,000 (a run printing many points, a push).
 * Prints one JSON line: reports/s with p50/p99 ms per report, and bulk points/s.
 */
public final class LedgerIngest {
    public static void main(String[] args) throws Exception {
        int experiments = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int reports = args.length > 1 ? Integer.parseInt(args[1]) : 5_000;
        int bulk = args.length > 2 ? Integer.parseInt(args[2]) : 200_000;
        Path dir = Files.createTempDirectory("ledger-ingest");
        try (SqliteLedger ledger = SqliteLedger.open(dir.resolve("ledger.db"))) {
            for (int e = 0; e <= experiments; e++) {
                ledger.insert(new Experiment("e" + e, "n" + e, ExperimentStatus.RUNNING, "local", CommandSpec.shell("true"),
                        Params.of(Map.of()), null, null, Instant.EPOCH, null, null, null, null, 1, null));
            }
            double[] ms = new double[reports];
            long t0 = System.nanoTime();
            for (int r = 0; r < reports; r++) {
                List<MetricPoint> points = new ArrayList<>();
                long step = r / experiments;
                for (int k = 0; k < 10; k++) {
                    points.add(new MetricPoint("m" + k, step, Math.sin(step + k), Instant.now()));
                }
                long t = System.nanoTime();
                ledger.recordMetrics("e" + (r % experiments), points);
                ms[r] = (System.nanoTime() - t) / 1e6;
            }
            double reportsS = (System.nanoTime() - t0) / 1e9;
            Arrays.sort(ms);
            long t1 = System.nanoTime();
            for (int from = 0; from < bulk; from += 1000) {
                List<MetricPoint> points = new ArrayList<>();
                for (int s = from; s < Math.min(bulk, from + 1000); s++) {
                    points.add(new MetricPoint("loss", s, Math.cos(s / 100.0), Instant.now()));
                }
                ledger.recordMetrics("e" + experiments, points);
            }
            double bulkS = (System.nanoTime() - t1) / 1e9;
            System.out.printf("{\"reports_per_s\": %.0f, \"report_p50_ms\": %.3f, \"report_p99_ms\": %.3f, \"bulk_points_per_s\": %.0f}%n",
                    reports / reportsS, ms[reports / 2], ms[reports * 99 / 100], bulk / bulkS);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
