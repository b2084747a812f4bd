package dev.sortie.core.dvc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DvcPlotsTest {
    @TempDir
    Path dir;

    private void write(String path, String text) throws Exception {
        Path p = dir.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
    }

    @Test
    void dvcYamlsPlotsAreReadAsDvcReadsThemAndDvclivesByTheirStandardNames() throws Exception {
        write("dvc.yaml", """
                plots:
                  - ROC:
                      template: simple
                      x: fpr
                      y:
                        eval/train/roc.json: tpr
                        eval/test/roc.json: [tpr]
                  - eval/prc.csv:
                      x: recall
                      y: precision
                      title: PR
                  - eval/images
                  - dvclive/plots/metrics:
                      x: step
                stages:
                  evaluate:
                    wdir: sub
                    cmd: python evaluate.py
                    plots:
                      - cm.json:
                          cache: false
                          template: confusion
                          x: actual
                          y: predicted
                """);
        write("eval/images/a.png", "png");
        write("eval/images/notes.txt", "not a plot");
        write("dvclive/plots/sklearn/precision_recall.json", "{}");
        write("dvclive/plots/images/b.jpg", "jpg");
        write("dvclive/plots/metrics/loss.tsv", "step\tloss\n0\t1\n");

        List<DvcPlot> plots = DvcPlots.declared(dir);
        assertThat(plots).extracting(DvcPlot::path).containsExactly("eval/train/roc.json", "eval/test/roc.json", "eval/prc.csv",
                "eval/images/a.png", "sub/cm.json", "dvclive/plots/sklearn/precision_recall.json", "dvclive/plots/images/b.jpg");
        DvcPlot roc = plots.get(1);
        assertThat(roc).isEqualTo(new DvcPlot("eval/test/roc.json", "simple", "fpr", List.of("tpr"), "ROC"));
        assertThat(plots.get(2)).isEqualTo(new DvcPlot("eval/prc.csv", "linear", "recall", List.of("precision"), "PR"));
        assertThat(plots.get(3).kind()).isEqualTo(DvcPlot.Kind.IMAGE);
        assertThat(plots.get(4).kind()).isEqualTo(DvcPlot.Kind.CONFUSION);
        assertThat(plots.get(5)).isEqualTo(new DvcPlot("dvclive/plots/sklearn/precision_recall.json", "simple", "recall",
                List.of("precision"), "Precision-Recall Curve"));

        assertThat(DvcPlots.readManifest(DvcPlots.manifest(plots).getBytes(StandardCharsets.UTF_8))).isEqualTo(plots);
    }

    @Test
    void aCurveIsReadFromJsonWithPythonsInfinityOrCsvAndAConfusionMatrixCountsItsRows() throws Exception {
        DvcPlot roc = new DvcPlot("roc.json", "simple", "fpr", List.of("tpr"), "ROC");
        List<Map<String, String>> rows = DvcPlotData.rows("roc.json",
                "{\"roc\": [{\"fpr\": 0.0, \"tpr\": 0.0, \"threshold\": Infinity}, {\"fpr\": 0.5, \"tpr\": 0.75, \"threshold\": 0.4}]}"
                        .getBytes(StandardCharsets.UTF_8));
        DvcPlotData.Line line = DvcPlotData.curve(roc, rows).get(0);
        assertThat(line.x()).containsExactly(0.0, 0.5);
        assertThat(line.y()).containsExactly(0.0, 0.75);

        // no x: the row's index; no y: the last field
        DvcPlot loss = new DvcPlot("loss.csv", null, null, List.of(), null);
        DvcPlotData.Line l = DvcPlotData.curve(loss, DvcPlotData.rows("loss.csv", "epoch,loss\n1,0.9\n2,\"0.5\"\n3,oops\n"
                .getBytes(StandardCharsets.UTF_8))).get(0);
        assertThat(l.field()).isEqualTo("loss");
        assertThat(l.x()).containsExactly(0.0, 1.0);
        assertThat(l.y()).containsExactly(0.9, 0.5);

        DvcPlot cm = new DvcPlot("cm.json", "confusion", "actual", List.of("predicted"), null);
        DvcPlotData.Confusion c = DvcPlotData.confusion(cm, DvcPlotData.rows("cm.json", """
                [{"actual": "10", "predicted": "2"}, {"actual": "2", "predicted": "2"}, {"actual": "10", "predicted": "10"},
                 {"actual": "10", "predicted": "2"}]""".getBytes(StandardCharsets.UTF_8)));
        assertThat(c.labels()).containsExactly("2", "10");
        assertThat(c.counts()).isEqualTo(new long[][] {{1, 0}, {2, 1}});
    }
}
