package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Why something was skipped lands in .sortie/logs/sortie.log, and on stderr with --verbose. The case: a run whose
 * dvclive metrics file is not JSON, which Sortie skips (it may be half written) and used to skip without a word.
 */
@Tag("integration")
class LoggingTest {
    /** Writes a metrics file that is not JSON where dvclive's would be (read by default). */
    static final String RUN = "mkdir -p dvclive && printf '{not json' > dvclive/metrics.json && echo done";

    @TempDir
    Path tmp;
    TestProject project;
    Path logFile;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: demo\nrun: sh -c \"" + RUN + "\"\n").commit();
        logFile = project.dir.resolve(".sortie/logs/sortie.log");
    }

    @Test
    void verbosePrintsWhyAMetricsFileWasSkippedAndTheFileKeepsIt() throws Exception {
        TestProject.Result r = project.sortie("run", "--verbose");
        assertThat(r.code()).isZero();
        assertThat(r.err()).containsPattern("sortie: DEBUG core\\.metrics\\.MetricFileReader: metrics file \\S*dvclive/metrics\\.json "
                + "skipped this time .*JsonParseException");
        assertThat(r.err()).doesNotContain("\tat "); // stack traces only with -vv
        assertThat(Files.readString(logFile)).containsPattern("Z \\d+ DEBUG core\\.metrics\\.MetricFileReader: metrics file \\S*dvclive/metrics\\.json");
    }

    @Test
    void withoutVerboseStderrStaysQuietAndTheFileGetsIt() throws Exception {
        assertThat(project.sortie("init").code()).isZero();
        assertThat(project.sortie("show").code()).isZero();
        assertThat(logFile.getParent()).as("a command that logs nothing leaves no log").doesNotExist();

        TestProject.Result r = project.sortie("run");
        assertThat(r.code()).isZero();
        assertThat(r.err()).doesNotContain("MetricFileReader");
        assertThat(Files.readString(logFile)).contains("DEBUG core.metrics.MetricFileReader: metrics file");
        // -v comes before the command too (sortie -v run), and two commands append to one file
        TestProject.Result again = project.sortie("-v", "run");
        assertThat(again.err()).contains("MetricFileReader");
        assertThat(Files.readAllLines(logFile)).filteredOn(l -> l.contains("MetricFileReader")).hasSizeGreaterThanOrEqualTo(2);
        assertThat(project.git("status", "--porcelain")).doesNotContain("logs"); // never shows up as a change
    }

    /** A separate sortie process (its own JVM, as users run it) writes to the same file. */
    @Test
    void aSeparateProcessAppendsToTheSameFile() throws Exception {
        assertThat(project.sortie("run").code()).isZero();
        long before = Files.readAllLines(logFile).size();
        Path out = tmp.resolve("out.txt");
        Process p = project.spawn(out, "-vv", "run");
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String printed = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(printed).isZero();
        assertThat(printed).contains("MetricFileReader");
        assertThat(Files.readAllLines(logFile)).hasSizeGreaterThan((int) before)
                .anyMatch(l -> l.contains(" " + p.pid() + " DEBUG core.metrics.MetricFileReader"));
    }

    /** MINA SSHD and JGit log through SLF4J: their warnings reach the same file, their debug chatter does not. */
    @Test
    void libraryWarningsThroughSlf4jReachTheFile() throws Exception {
        assertThat(project.sortie("run").code()).isZero(); // this JVM's logging now goes to the project's file
        org.slf4j.LoggerFactory.getLogger("org.apache.sshd.client.session.ClientSessionImpl").warn("mina warning {}", 1);
        org.slf4j.LoggerFactory.getLogger("org.apache.sshd.common.io.nio2.Nio2Session").debug("mina chatter");
        org.slf4j.LoggerFactory.getLogger("org.eclipse.jgit.util.FS").warn("jgit warning");
        org.slf4j.LoggerFactory.getLogger("org.eclipse.jgit.util.FS").info("jgit info");
        String text = Files.readString(logFile);
        assertThat(text).contains("WARNING org.apache.sshd.client.session.ClientSessionImpl: mina warning 1")
                .contains("WARNING org.eclipse.jgit.util.FS: jgit warning")
                .doesNotContain("mina chatter").doesNotContain("jgit info");
    }
}
