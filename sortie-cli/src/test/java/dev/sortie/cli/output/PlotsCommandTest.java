package dev.sortie.cli.output;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.cli.Main;
import dev.sortie.cli.commands.PlotsCommand;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sortie plots} end to end: real runs recorded in a real ledger, then the command. Registers the command
 * itself when {@link Main} does not list it (yet), with the exit-code mapping of {@link Main#execute} for the
 * errors it raises (IllegalArgumentException: 2).
 */
@Tag("integration")
class PlotsCommandTest {
    @TempDir
    Path tmp;
    Path dir;

    record Result(int code, String out, String err) {
    }

    private Result sortie(boolean plots, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>(List.of("-C", dir.toString()));
        all.addAll(List.of(args));
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            if (!plots) {
                code = Main.execute(all.toArray(new String[0]));
            } else {
                Main main = new Main();
                CommandLine cl = new CommandLine(main);
                if (!cl.getSubcommands().containsKey("plots")) {
                    cl.addSubcommand(new PlotsCommand());
                }
                cl.setExecutionExceptionHandler((ex, c, parsed) -> {
                    c.getErr().println("sortie: error: " + ex.getMessage());
                    if (ex instanceof IllegalArgumentException || ex.getClass().getSimpleName().equals("NotFoundException")) {
                        return 2;
                    }
                    throw ex;
                });
                try {
                    code = cl.execute(all.toArray(new String[0]));
                } finally {
                    main.context().close();
                }
            }
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private void git(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as("git " + String.join(" ", args)).isTrue();
    }

    @BeforeEach
    void setUp() throws Exception {
        dir = tmp.resolve("proj");
        Files.createDirectories(dir);
        git("init", "-q");
        git("config", "user.email", "test@localhost");
        git("config", "user.name", "Test");
        Files.writeString(dir.resolve("sortie.yaml"), "name: demo\nrun: echo hello\n");
        git("add", "-A");
        git("commit", "-q", "-m", "test");
        assertThat(sortie(false, "run", "-q", "-n", "fast", "--", "sh", "-c",
                "for i in 0 1 2 3 4 5; do echo \"loss=$((10 - i)) acc=0.$i step=$i\"; done").code()).isZero();
        assertThat(sortie(false, "run", "-q", "-n", "slow", "--", "sh", "-c",
                "for i in 0 1 2; do echo \"loss=$((20 - i)) step=$i\"; done").code()).isZero();
    }

    @Test
    void writesHtmlWithAChartPerMetricAndALinePerExperiment() throws Exception {
        Result r = sortie(true, "plots", "fast", "slow", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        Path file = dir.resolve("sortie-plots.html");
        assertThat(r.err()).contains("sortie: wrote 2 charts of 2 experiments to " + file);
        String html = Files.readString(file);
        assertThat(html).contains("<title>acc</title>").contains("<title>loss</title>").doesNotContain("<script");
        assertThat(html.split("<polyline", -1)).hasSize(1 + 3); // acc: fast; loss: fast, slow
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertThat(json.get("path").asText()).isEqualTo(file.toString());
        assertThat(json.get("format").asText()).isEqualTo("html");
        assertThat(json.get("charts").get(1).get("metric").asText()).isEqualTo("loss");
        assertThat(json.get("charts").get(1).get("points").asInt()).isEqualTo(9);
    }

    @Test
    void aSummaryMetricIsAValueInATableNotAOnePointChart() throws Exception {
        assertThat(sortie(false, "run", "-q", "-n", "scored", "--", "sh", "-c", "echo loss=3 step=0; echo loss=2 step=1; echo auc=0.93").code()).isZero();
        Result r = sortie(true, "plots", "scored", "fast", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("wrote 2 charts and 1 single value of 2 experiments");
        String html = Files.readString(dir.resolve("sortie-plots.html"));
        assertThat(html).contains("<td>auc</td>").contains("0.93").doesNotContain("<title>auc</title>");
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertThat(json.get("charts")).extracting(c -> c.get("metric").asText()).containsExactly("acc", "loss");
        assertThat(json.get("values").get(0).get("values").get("scored").asDouble()).isEqualTo(0.93);
    }

    @Test
    void writesPngOfTheChosenMetrics() throws Exception {
        Result r = sortie(true, "plots", "fast", "slow", "--metric", "loss", "-o", "out/loss.png");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("wrote 1 chart of 2 experiments to " + dir.resolve("out/loss.png"));
        BufferedImage img = ImageIO.read(dir.resolve("out/loss.png").toFile());
        assertThat(img.getWidth()).isEqualTo(PlotsPng.WIDTH);
        try (var files = Files.list(dir.resolve("out"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("loss.png");
        }
    }

    @Test
    void unknownMetricsAndFileTypesAreUsageErrors() {
        Result r = sortie(true, "plots", "fast", "--metric", "los");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("'los'").contains("acc, loss");
        Result bad = sortie(true, "plots", "fast", "-o", "plots.pdf");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains(".html").contains(".png");
        assertThat(Files.exists(dir.resolve("sortie-plots.html"))).isFalse();
    }
}
