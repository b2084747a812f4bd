package dev.sortie.sdk;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How long log() takes on the caller's thread: measured and printed, not asserted (machines differ, and this one
 * may be shared). The background flusher runs meanwhile, as it would in a real program.
 */
class LatencyTest {
    private static final int N = 1_000_000;

    @TempDir
    Path dir;

    @Test
    void oneMillionLogCalls() throws Exception {
        Map<String, String> env = Map.of("SORTIE_EVENTS_FILE", dir.resolve("events.jsonl").toString());
        System.gc(); // what earlier tests left behind is not log()'s cost
        try (Run run = Sortie.builder().env(env).workingDirectory(dir).start()) {
            for (int i = 0; i < 300_000; i++) { // warm-up: let the JIT compile the path
                run.log("warmup", i, i);
                run.log("warmup2", i);
            }
            run.flush();
            int rounds = 5;
            double[] withStep = new double[rounds];
            double[] noStep = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < N; i++) {
                    run.log("loss", i * 1e-6, i);
                }
                withStep[r] = (System.nanoTime() - t0) / (double) N;
                run.flush(); // untimed: each round starts with an empty buffer
                long t1 = System.nanoTime();
                for (int i = 0; i < N; i++) {
                    run.log("acc", i * 1e-6);
                }
                noStep[r] = (System.nanoTime() - t1) / (double) N;
                run.flush();
            }
            System.out.printf("sortie-sdk-java: log() over 1M calls, %d rounds: log(name, value, step) median %.1f ns/call %s;"
                            + " log(name, value) median %.1f ns/call %s (%d CPUs)%n",
                    rounds, median(withStep), fmt(withStep), median(noStep), fmt(noStep),
                    Runtime.getRuntime().availableProcessors());
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String fmt(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (double d : v) {
            sb.append(sb.length() > 1 ? " " : "").append(String.format("%.0f", d));
        }
        return sb.append(']').toString();
    }
}
