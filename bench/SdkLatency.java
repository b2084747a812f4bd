import dev.sortie.sdk.Run;
import dev.sortie.sdk.Sortie;
import java.util.Arrays;

/**
 * How long the Java SDK's log() takes on the caller's thread (what a training loop waits for), with the background
 * flusher running meanwhile as in a real program: N calls a round, the median of the rounds. Run by bench/sdk.py
 * (SORTIE_EVENTS_FILE=F java -cp sortie-sdk-java/target/sortie-sdk-java-*.jar bench/SdkLatency.java [N] [ROUNDS]); prints one JSON line.
 * (Was sortie-sdk-java's LatencyTest, which measured and asserted nothing.)
 */
public final class SdkLatency {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        // as inside a run: the events file from the environment (bench/sdk.py sets it to a temporary folder's)
        if (System.getenv("SORTIE_EVENTS_FILE") == null) {
            System.err.println("SdkLatency: set SORTIE_EVENTS_FILE (bench/sdk.py does)");
            System.exit(2);
        }
        try (Run run = Sortie.builder().start()) {
            for (int i = 0; i < 300_000; i++) { // warm-up: let the JIT compile the path
                run.log("warmup", i, i);
                run.log("warmup2", i);
            }
            run.flush();
            double[] withStep = new double[rounds];
            double[] noStep = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                System.gc(); // what the last round left behind is not log()'s cost
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    run.log("loss", i * 1e-6, i);
                }
                withStep[r] = (System.nanoTime() - t0) / (double) n;
                run.flush(); // untimed: each round starts with an empty buffer
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    run.log("acc", i * 1e-6);
                }
                noStep[r] = (System.nanoTime() - t1) / (double) n;
                run.flush();
            }
            System.out.printf("{\"calls\": %d, \"rounds\": %d, \"log_step_ns\": %.1f, \"log_ns\": %.1f, \"log_step_ns_rounds\": %s,"
                            + " \"log_ns_rounds\": %s, \"cpus\": %d, \"java\": \"%s\"}%n",
                    n, rounds, median(withStep), median(noStep), Arrays.toString(withStep), Arrays.toString(noStep),
                    Runtime.getRuntime().availableProcessors(), Runtime.version());
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
