package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java SDK against the real CLI, in programs run as their own JVMs. */
@Tag("integration")
class JavaSdkTest {
    @TempDir
    Path tmp;

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static String cp() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    @Test
    void aProgramRunByHandTracksItselfAndFailsWhenItSaysSo() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("README", "x\n").commit();
        project.sortie("init");
        for (boolean fail : new boolean[] {false, true}) {
            List<String> cmd = new ArrayList<>(List.of(java(), "-cp", cp(), JavaSdkMain.class.getName()));
            if (fail) {
                cmd.add("fail");
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(project.dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("out.log").toFile());
            pb.environment().put("SORTIE_BIN", java() + " -cp " + cp() + " " + Main.class.getName());
            assertThat(pb.start().waitFor()).as(Files.readString(tmp.resolve("out.log"))).isZero();
            Experiment e = project.awaitEnd("java-run");
            assertThat(e.status()).isEqualTo(fail ? ExperimentStatus.FAILED : ExperimentStatus.SUCCEEDED);
            try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
                assertThat(l.series(e.id(), "loss")).hasSize(20);
                assertThat(l.artifacts(e.id())).extracting(ArtifactRecord::path).containsExactly("model.bin");
            }
            assertThat(project.sortie("remove", "java-run").code()).isZero();
        }
    }

    @Test
    void insideAScheduledRunTheSdkAttaches() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj2"));
        project.write("README", "x\n").commit();
        TestProject.Result r = project.sortie("run", "-n", "sched", "--", java(), "-cp", cp(), JavaSdkMain.class.getName());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            assertThat(l.list()).extracting(Experiment::name).containsExactly("sched");
            Experiment e = l.find("sched").orElseThrow();
            assertThat(l.series(e.id(), "loss")).hasSize(20);
            assertThat(l.artifacts(e.id())).extracting(ArtifactRecord::path).contains("model.bin");
        }
    }
}
