package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * DVC's plots as a DVC user makes them, drawn by {@code sortie plots}: real dvclive (ROC, precision-recall and a
 * confusion matrix by {@code log_sklearn_plot}, an image by {@code log_image}) and a {@code plots:} entry of
 * dvc.yaml, two experiments, one line each on the curves, a matrix and an image each.
 */
@Tag("integration")
@ExtendWith(DvcVenv.Plotting.class)
class DvcPlotsCommandTest {

    @TempDir
    Path tmp;

    /** A script as a dvclive user writes it; {@code shift} makes the two experiments' scores differ. */
    static final String TRAIN = """
            import csv, os, sys
            from dvclive import Live
            from PIL import Image
            shift = float(sys.argv[1])
            y_true = [0, 0, 1, 1, 0, 1, 0, 1]
            y_score = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, shift, 0.6]
            y_pred = [1 if s >= 0.5 else 0 for s in y_score]
            with Live(save_dvc_exp=False) as live:
                live.log_sklearn_plot("roc", y_true, y_score)
                live.log_sklearn_plot("precision_recall", y_true, y_score)
                live.log_sklearn_plot("confusion_matrix", y_true, y_pred)
                live.log_image("sample.png", Image.new("RGB", (4, 4), (200, 30, 30)))
                live.log_metric("acc", sum(int(a == b) for a, b in zip(y_true, y_pred)) / len(y_true))
            os.makedirs("eval", exist_ok=True)
            with open("eval/loss.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["epoch", "loss"])
                for e in range(5):
                    w.writerow([e, round(1 / (e + 1) + shift, 4)])
            """;

    static final String DVC_YAML = """
            plots:
              - Loss by epoch:
                  template: linear
                  x: epoch
                  y:
                    eval/loss.csv: loss
              - committed.json:
                  x: a
                  y: b
            """;

    @Test
    void dvclivesAndDvcYamlsPlotsAreDrawnBesideTheMetricsOneLineOrMatrixPerExperiment() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        // committed.json is the project's, committed; no run writes it, so no run records it as its plot
        project.write("train.py", TRAIN).write("dvc.yaml", DVC_YAML)
                .write("committed.json", "[{\"a\": 1, \"b\": 2}, {\"a\": 2, \"b\": 3}]")
                .write(".gitignore", "dvclive/\neval/\n").commit();
        for (String[] exp : List.of(new String[] {"low", "0.3"}, new String[] {"high", "0.7"})) {
            TestProject.Result r = project.sortie("run", "-n", exp[0], "--", DvcVenv.BIN.resolve("python").toString(), "train.py", exp[1]);
            assertThat(r.code()).as(r.out() + r.err()).isZero();
        }

        TestProject.Result plots = project.sortie("plots", "low", "high", "-o", "p.html", "--json");
        assertThat(plots.code()).as(plots.out() + plots.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(plots.out());
        List<String> titles = new ArrayList<>();
        json.get("charts").forEach(c -> titles.add(c.get("metric").asText()));
        assertThat(titles).contains("Receiver operating characteristic (ROC)", "Precision-Recall Curve", "Loss by epoch")
                .noneMatch(t -> t.contains("committed"));
        JsonNode roc = chart(json, "Receiver operating characteristic (ROC)");
        assertThat(roc.get("x").asText()).isEqualTo("fpr");
        assertThat(roc.get("experiments")).extracting(JsonNode::asText).containsExactly("low", "high");
        assertThat(chart(json, "Precision-Recall Curve").get("x").asText()).isEqualTo("recall");
        assertThat(chart(json, "Loss by epoch").get("points").asInt()).isEqualTo(10);

        JsonNode matrices = json.get("confusion_matrices");
        assertThat(matrices).hasSize(2);
        for (JsonNode m : matrices) {
            assertThat(m.get("labels")).extracting(JsonNode::asText).containsExactly("0", "1");
        }
        // low: scores 0.3 (a negative) below 0.5, one positive (0.35) missed; high: 0.7 a false positive as well
        assertThat(matrices.get(0).get("experiment").asText()).isEqualTo("low");
        assertThat(matrices.get(0).get("counts").toString()).isEqualTo("[[4,0],[1,3]]");
        assertThat(matrices.get(1).get("counts").toString()).isEqualTo("[[3,1],[1,3]]");
        assertThat(json.get("images")).extracting(i -> i.get("experiment").asText() + ":" + i.get("path").asText())
                .containsExactly("low:dvclive/plots/images/sample.png", "high:dvclive/plots/images/sample.png");

        String html = project.read("p.html");
        // the ROC's points are at decimal fpr values, not at steps
        assertThat(html).contains("fpr 0.25: ").contains("<table class=\"confusion\">")
                .contains("<img alt=\"dvclive/plots/images/sample.png\" src=\"data:image/png;base64,iVBORw0KGgo");
        // the metric still charted as before: one value per experiment
        assertThat(json.get("values")).extracting(v -> v.get("metric").asText()).contains("acc");
    }

    private static JsonNode chart(JsonNode json, String metric) {
        for (JsonNode c : json.get("charts")) {
            if (c.get("metric").asText().equals(metric)) {
                return c;
            }
        }
        throw new AssertionError("no chart " + metric + " in " + json);
    }
}
