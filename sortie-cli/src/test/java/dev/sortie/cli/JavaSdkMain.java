package dev.sortie.cli;

import dev.sortie.sdk.Run;
import dev.sortie.sdk.Sortie;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A Java program using the SDK, run by {@link JavaSdkTest} as its own JVM: by hand, or under sortie run. */
public final class JavaSdkMain {
    public static void main(String[] args) throws Exception {
        try (Run run = Sortie.start("java-run", Map.of("lr", 0.1))) {
            for (int step = 0; step < 20; step++) {
                run.log("loss", 1.0 / (step + 1), step);
            }
            Path model = Path.of("model.bin").toAbsolutePath();
            Files.writeString(model, "w");
            run.logArtifact(model);
            if (args.length > 0) {
                run.fail("asked to fail");
            }
        }
    }
}
