package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training script written for dvclive, unchanged, tracked by Sortie: real dvclive from PyPI, installed by this
 * test into a virtualenv it keeps under ~/.cache/sortie-tests (so later runs reuse it).
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class DvcliveInteropTest {

    @TempDir
    Path tmp;

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
        TestProject.Result r = project.sortie("run", "-n", "live", "--", DvcVenv.BIN.resolve("python").toString(), "train.py");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("live").orElseThrow();
            assertThat(l.series(e.id(), "train.loss")).extracting(MetricPoint::step).containsExactly(0L, 1L, 2L, 3L);
            assertThat(l.series(e.id(), "train.loss").get(3).value()).isEqualTo(0.25);
            assertThat(l.latestMetrics(e.id())).containsKeys("train.loss", "acc");
        }
    }
}
