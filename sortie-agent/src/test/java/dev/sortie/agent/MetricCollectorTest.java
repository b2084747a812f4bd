package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.model.MetricPoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricCollectorTest {
    @TempDir
    Path dir;

    @Test
    void readsDvcliveFilesByDefaultAndReportsOnlyChanges() throws Exception {
        MetricCollector c = new MetricCollector(TaskConfig.adHoc("t"), dir);
        assertThat(c.pollFiles()).isEmpty();
        Path live = dir.resolve("dvclive");
        Files.createDirectories(live.resolve("plots/metrics/train"));
        Files.writeString(live.resolve("metrics.json"), "{\"step\": 1, \"train\": {\"loss\": 0.5}, \"acc\": 0.7}");
        Files.writeString(live.resolve("plots/metrics/train/loss.tsv"), "timestamp\tstep\tloss\n1\t0\t0.9\n2\t1\t0.5\n");
        List<MetricPoint> first = c.pollFiles();
        assertThat(first).extracting(MetricPoint::key, MetricPoint::step, MetricPoint::value)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("train.loss", 1L, 0.5),
                        org.assertj.core.groups.Tuple.tuple("acc", 1L, 0.7),
                        org.assertj.core.groups.Tuple.tuple("train.loss", 0L, 0.9));
        assertThat(c.pollFiles()).isEmpty();
        Files.writeString(live.resolve("plots/metrics/train/loss.tsv"), "timestamp\tstep\tloss\n1\t0\t0.9\n2\t1\t0.5\n3\t2\t0.25\n4\t3");
        assertThat(c.pollFiles()).extracting(MetricPoint::step).containsExactly(2L);
    }

    @Test
    void aMetricsFileThatWasThereBeforeCountsOnlyOnceTheRunWritesIt() throws Exception {
        Path m = dir.resolve(MetricCollector.DVCLIVE_DEFAULT);
        Files.createDirectories(m.getParent());
        Files.writeString(m, "{\"acc\": 0.42}");
        MetricCollector c = new MetricCollector(TaskConfig.adHoc("t"), dir);
        assertThat(c.pollFiles()).as("committed, never touched by the run").isEmpty();
        // the run writes the same content again: it wrote it, so it counts
        Files.setLastModifiedTime(m, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertThat(c.pollFiles()).extracting(MetricPoint::key, MetricPoint::value)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("acc", 0.42));
        Files.writeString(m, "{\"acc\": 0.5}");
        assertThat(c.pollFiles()).extracting(MetricPoint::value).containsExactly(0.5);
    }

    @Test
    void aSalvageReadsTheFilesTheRunLeftWhateverWasThereBefore() throws Exception {
        Path m = dir.resolve(MetricCollector.DVCLIVE_DEFAULT);
        Files.createDirectories(m.getParent());
        Files.writeString(m, "{\"acc\": 0.42}");
        assertThat(MetricCollector.afterTheRun(TaskConfig.adHoc("t"), dir).pollFiles()).extracting(MetricPoint::value).containsExactly(0.42);
    }

    @Test
    void outputLinesGetStepsPerKey() {
        MetricCollector c = new MetricCollector(TaskConfig.adHoc("t"), dir);
        assertThat(c.line("loss=1", Instant.EPOCH)).extracting(MetricPoint::step).containsExactly(0L);
        assertThat(c.line("loss=2", Instant.EPOCH)).extracting(MetricPoint::step).containsExactly(1L);
        assertThat(c.line("hello", Instant.EPOCH)).isEmpty();
    }

    @Test
    void metricsDeclaredInDvcYamlAreReadWithoutSortieYamlNamingThemAndNamedAsDvcPrintsThem() throws Exception {
        Files.writeString(dir.resolve("dvc.yaml"), """
                stages:
                  evaluate:
                    cmd: python ev.py
                    wdir: ev
                    metrics: [out/metrics.json: {cache: false}]
                metrics: [summary.yaml]
                """);
        MetricCollector c = new MetricCollector(TaskConfig.adHoc("t"), dir);
        Files.createDirectories(dir.resolve("ev/out"));
        Files.writeString(dir.resolve("ev/out/metrics.json"), "{\"roc_auc\": {\"test\": 0.75, \"deep\": {\"x\": 3}}, \"flat\": 2}");
        Files.writeString(dir.resolve("summary.yaml"), "a:\n  b: 1.5\n");
        assertThat(c.pollFiles()).extracting(MetricPoint::key, MetricPoint::value).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("roc_auc.test", 0.75), org.assertj.core.groups.Tuple.tuple("roc_auc.deep.x", 3.0),
                org.assertj.core.groups.Tuple.tuple("flat", 2.0), org.assertj.core.groups.Tuple.tuple("a.b", 1.5));
        // the same name in two files: each with its file before it, as dvc exp show prints them
        Files.writeString(dir.resolve("summary.yaml"), "flat: 7\n");
        assertThat(c.pollFiles()).extracting(MetricPoint::key, MetricPoint::value).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("ev/out/metrics.json:flat", 2.0), org.assertj.core.groups.Tuple.tuple("summary.yaml:flat", 7.0));
    }

    @Test
    void aDvcYamlThatCannotBeReadLeavesTheOtherMetricFilesRead() throws Exception {
        Files.writeString(dir.resolve("dvc.yaml"), "stages: [not, a, mapping]\n");
        MetricCollector c = new MetricCollector(TaskConfig.adHoc("t"), dir);
        Path m = dir.resolve(MetricCollector.DVCLIVE_DEFAULT);
        Files.createDirectories(m.getParent());
        Files.writeString(m, "{\"acc\": 0.5}");
        assertThat(c.pollFiles()).extracting(MetricPoint::key).containsExactly("acc");
    }
}
