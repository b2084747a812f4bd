package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DvcResultsTest {
    @TempDir
    Path dir;

    @Test
    void theUncachedOutsAreThoseOfDvcYamlAsDvcReadsItWdirAndForeachIncluded() throws Exception {
        Files.writeString(dir.resolve("dvc.yaml"), """
                stages:
                  evaluate:
                    wdir: eval
                    cmd: python evaluate.py
                    outs: [model.pkl]
                    metrics:
                      - metrics.json: {cache: false}
                    plots:
                      - plots/roc.json: {cache: false}
                  report:
                    foreach: [a, b]
                    do:
                      cmd: echo ${item}
                      outs:
                        - report-${item}.txt: {cache: false}
                """);
        assertThat(DvcResults.paths(dir)).containsExactly("dvc.lock", "eval/metrics.json", "eval/plots/roc.json",
                "report-a.txt", "report-b.txt");
    }

    @Test
    void aDvcYamlDvcCouldNotReadKeepsOnlyDvcLock() throws Exception {
        Files.writeString(dir.resolve("dvc.yaml"), "stages: [\n");
        assertThat(DvcResults.paths(dir)).containsExactly("dvc.lock");
        assertThat(DvcResults.paths(dir.resolve("elsewhere"))).isEmpty();
    }
}
