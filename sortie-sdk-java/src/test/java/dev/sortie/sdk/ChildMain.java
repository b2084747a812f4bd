package dev.sortie.sdk;

import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A small program for {@link ChildJvmTest}, run in a JVM of its own as if inside a scheduled run.
 *
 * <pre>
 * ChildMain EVENTS_FILE forever     logs metric "t" (value: the epoch millis when logged, step: 0, 1, 2...)
 *                                   every 0.2 ms until killed; prints "started" first, then the step
 *                                   of every 50th point once it is logged
 * ChildMain EVENTS_FILE exit N      logs N points, then System.exit(3) without close()
 * ChildMain EVENTS_FILE fail-exit   logs 10 points, fail(), then System.exit(1) without close()
 * </pre>
 */
public final class ChildMain {
    private ChildMain() {
    }

    public static void main(String[] args) {
        Map<String, String> env = Map.of("SORTIE_EVENTS_FILE", args[0], "SORTIE_EXPERIMENT_ID", "child0000",
                "SORTIE_EXPERIMENT_NAME", "child");
        Run run = Sortie.builder().env(env).start();
        switch (args[1]) {
            case "forever" -> {
                System.out.println("started");
                System.out.flush();
                for (long i = 0; ; i++) {
                    run.log("t", System.currentTimeMillis(), i);
                    if (i % 50 == 0) {
                        System.out.println(i); // "logged up to here", for the test to time
                        System.out.flush();
                    }
                    LockSupport.parkNanos(200_000);
                }
            }
            case "exit" -> {
                int n = Integer.parseInt(args[2]);
                for (int i = 0; i < n; i++) {
                    run.log("x", i, i);
                }
                System.exit(3);
            }
            case "fail-exit" -> {
                for (int i = 0; i < 10; i++) {
                    run.log("x", i, i);
                }
                run.fail(new IllegalStateException("gave up"));
                System.exit(1);
            }
            default -> throw new IllegalArgumentException(args[1]);
        }
    }
}
