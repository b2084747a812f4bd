package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training script written for dvclive, unchanged, tracked by Sortie: real dvclive from PyPI, installed by this
 * test into a virtualenv it keeps under ~/.cache/sortie-tests (so later runs reuse it).
 */
@Tag("integration")
class DvcliveInteropTest {
    static Path python;

    @TempDir
    Path tmp;

    @BeforeAll
    // pip installs dvclive and dvc on a fresh machine (each step may take up to 600 s, below): the default 5 m of
    // junit-platform.properties would fail the class while pip still works
    @Timeout(value = 25, unit = TimeUnit.MINUTES)
    static void installDvclive() throws Exception {
        python = DvcVenv.bin().resolve("python");
    }

    @Test
    void aDvcliveScriptIsTrackedWithNoChange() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", """
                from dvclive import Live
                with Live(save_dvc_exp=False) as live:
                    live.log_param("lr", 0.1)
                    for epoch in range(4):
                        live.log_metric("train/loss", 1.0 / (epoch + 1))
                        live.log_metric("acc", epoch * 0.25)
                        live.next_step()
                """).write(".gitignore", "dvclive/\n").commit();
        TestProject.Result r = project.sortie("run", "-n", "live", "--", python.toString(), "train.py");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("live").orElseThrow();
            assertThat(l.series(e.id(), "train.loss")).extracting(MetricPoint::step).containsExactly(0L, 1L, 2L, 3L);
            assertThat(l.series(e.id(), "train.loss").get(3).value()).isEqualTo(0.25);
            assertThat(l.latestMetrics(e.id())).containsKeys("train.loss", "acc");
        }
    }
}
