package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.dvc.DvcPlot;
import dev.sortie.core.dvc.DvcPlots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DvcPlotFilesTest {
    @TempDir
    Path root;

    @Test
    void onlyThePlotFilesTheRunWroteOrChangedAreKeptWithAManifestOfHowToDrawThem() throws Exception {
        Path cwd = root.resolve("task");
        Files.createDirectories(cwd.resolve("eval"));
        Files.writeString(cwd.resolve("dvc.yaml"), "plots:\n  - eval/committed.json:\n      x: a\n      y: b\n"
                + "  - eval/rewritten.json:\n      x: a\n  - eval/new.csv\n");
        Files.writeString(cwd.resolve("eval/committed.json"), "[{\"a\": 1, \"b\": 2}]");
        Files.writeString(cwd.resolve("eval/rewritten.json"), "[{\"a\": 1, \"b\": 2}]");
        DvcPlotFiles plots = DvcPlotFiles.beforeTheRun(root, cwd);

        // the run: rewrites one file (same size, other bytes), writes a new one, leaves the committed one alone
        Files.writeString(cwd.resolve("eval/rewritten.json"), "[{\"a\": 1, \"b\": 3}]");
        Files.writeString(cwd.resolve("eval/new.csv"), "step,loss\n0,1\n");

        assertThat(plots.record()).containsExactly("task/eval/rewritten.json", "task/eval/new.csv", DvcPlots.MANIFEST);
        assertThat(DvcPlots.readManifest(Files.readAllBytes(root.resolve(DvcPlots.MANIFEST)))).containsExactly(
                new DvcPlot("task/eval/rewritten.json", null, "a", List.of(), "task/eval/rewritten.json"),
                new DvcPlot("task/eval/new.csv", null, null, List.of(), "task/eval/new.csv"));

        // a salvaged run (what was there before is not known): every plot file there counts
        assertThat(DvcPlotFiles.afterTheRun(root, cwd).record()).contains("task/eval/committed.json");
    }

    @Test
    void aRunThatWroteNoPlotKeepsNothing() throws Exception {
        Files.writeString(root.resolve("dvc.yaml"), "plots:\n  - roc.json\n");
        assertThat(DvcPlotFiles.beforeTheRun(root, root).record()).isEmpty();
        assertThat(root.resolve(DvcPlots.MANIFEST)).doesNotExist();
    }
}
