package dev.sortie.cli.server;

import dev.sortie.sdk.Run;
import dev.sortie.sdk.Sortie;
import java.util.Map;

/**
 * A Java program using the SDK outside a scheduled run, with SORTIE_SERVER and SORTIE_TOKEN set: run by
 * {@link SdkServerTest} as its own JVM. {@code ok}: logs and closes; {@code fail}: fail() then close;
 * {@code exit}: logs and exits without close; {@code idle GATE}: logs nothing until the file GATE exists, then
 * closes; {@code until-stopped}: logs every 50 ms until the server ended the run, says how, and closes;
 * {@code diverge}: logs a loss that becomes NaN, +Infinity and -Infinity at steps 50 to 52, and closes; {@code save FILE}:
 * writes 9 MiB of pseudo-random bytes to FILE (relative to the working directory), saves it as an artifact, and closes.
 */
public final class SdkServerMain {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Run run = Sortie.start(args[1], Map.of("lr", 0.2, "net", Map.of("depth", 4)));
        for (int step = 0; step < 50; step++) {
            run.log("loss", 1.0 / (step + 1), step);
        }
        run.log("acc", 0.5);
        run.log("acc", 0.75);
        run.logParams(Map.of("bs", 64));
        System.out.println("run " + run.id() + " " + run.name());
        switch (mode) {
            case "ok" -> run.close();
            case "save" -> {
                byte[] bytes = new byte[9 << 20];
                new java.util.Random(7).nextBytes(bytes);
                java.nio.file.Files.write(java.nio.file.Path.of(args[2]), bytes);
                run.logArtifact(java.nio.file.Path.of(args[2]));
                run.close();
            }
            case "diverge" -> {
                run.log("loss", Double.NaN, 50);
                run.log("loss", Double.POSITIVE_INFINITY, 51);
                run.log("loss", Double.NEGATIVE_INFINITY, 52);
                run.close();
            }
            case "fail" -> {
                run.fail(new IllegalStateException("diverged"));
                run.close();
            }
            case "exit" -> System.exit(0);
            case "idle" -> {
                while (!java.nio.file.Files.exists(java.nio.file.Path.of(args[2]))) {
                    Thread.sleep(50);
                }
                run.close();
            }
            case "until-stopped" -> {
                for (long step = 50; run.endedOnServer().isEmpty(); step++) {
                    run.log("loss", 1.0 / step, step);
                    Thread.sleep(50);
                }
                System.out.println("ended on the server: " + run.endedOnServer().get());
                run.close();
            }
            default -> throw new IllegalArgumentException(mode);
        }
    }
}
