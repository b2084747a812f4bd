package dev.sortie.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Real DVC and dvclive from PyPI in a virtualenv the tests keep under ~/.cache/sortie-tests (made on first use,
 * reused after). A test class that runs them says {@code @ExtendWith(DvcVenv.class)} (or {@link Plotting}) and uses
 * {@link #BIN}: the venv is made before the class's {@code @BeforeAll} methods, outside the lifecycle methods'
 * default timeout (pip may take minutes on a fresh machine; each pip call has 10 minutes).
 */
final class DvcVenv implements BeforeAllCallback {
    static final Path DIR = Path.of(System.getProperty("user.home"), ".cache", "sortie-tests", "dvclive-venv");
    /** The venv's bin folder, with {@code python}, {@code dvc} and dvclive once the extension has run. */
    static final Path BIN = DIR.resolve("bin");

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        bin();
    }

    /** As {@link DvcVenv}, with what dvclive's plots need too ({@link #withPlotting}). */
    static final class Plotting implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) throws Exception {
            withPlotting();
        }
    }

    /** The venv's bin folder, with {@code python}, {@code dvc} and dvclive installed. */
    static synchronized Path bin() throws Exception {
        Path bin = BIN;
        if (!Files.exists(bin.resolve("dvclive-ready")) || !Files.isExecutable(bin.resolve("dvc"))) {
            Files.createDirectories(DIR.getParent());
            run(List.of("python3", "-m", "venv", "--clear", DIR.toString()));
            // dvclive 3 depends on dvc 3: one install gives both
            run(List.of(bin.resolve("python").toString(), "-m", "pip", "install", "--quiet", "dvclive>=3,<4", "dvc>=3,<4"));
            Files.writeString(bin.resolve("dvclive-ready"), "");
        }
        return bin;
    }

    /**
     * The venv's bin folder with what dvclive's plots need added, on first use: scikit-learn (its
     * {@code log_sklearn_plot} computes the curves with it) and Pillow (its {@code log_image}).
     */
    static synchronized Path withPlotting() throws Exception {
        Path bin = bin();
        if (!Files.exists(bin.resolve("plotting-ready"))) {
            run(List.of(bin.resolve("python").toString(), "-m", "pip", "install", "--quiet", "scikit-learn", "pillow"));
            Files.writeString(bin.resolve("plotting-ready"), "");
        }
        return bin;
    }

    private static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
        }
    }
}
