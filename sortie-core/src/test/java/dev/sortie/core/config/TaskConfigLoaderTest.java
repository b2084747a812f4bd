package dev.sortie.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskConfigLoaderTest {
    @TempDir
    Path dir;

    private TaskConfig load(String yaml) throws Exception {
        Files.writeString(dir.resolve("sortie.yaml"), yaml);
        return TaskConfigLoader.load(dir);
    }

    private ConfigException error(String yaml) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> load(yaml));
        assertThat(t).isInstanceOf(ConfigException.class);
        return (ConfigException) t;
    }

    @Test
    void fullTask() throws Exception {
        TaskConfig t = load("""
                name: mnist
                setup: pip install -r requirements.txt
                run: python train.py --lr ${lr}
                params: {lr: 0.01, train: {epochs: 10}}
                resources: {gpus: 1, cpus: 4, memory: 16G, disk: 100G, spot: true}
                checkpoints: checkpoints/
                artifacts: [model.pt, reports/]
                metrics:
                  - dvclive/metrics.json
                  - {regex: 'val loss: ([0-9.]+)', name: val_loss}
                timeout: 1h30m
                env: {OMP_NUM_THREADS: 4}
                """);
        assertThat(t.name()).isEqualTo("mnist");
        assertThat(t.params().get("train.epochs")).contains(10L);
        assertThat(t.resources().gpus()).isEqualTo(1);
        assertThat(t.resources().memoryBytes()).isEqualTo(16L << 30);
        assertThat(t.checkpoints()).containsExactly("checkpoints/");
        assertThat(t.artifacts()).containsExactly("model.pt", "reports/");
        assertThat(t.metricFiles()).containsExactly("dvclive/metrics.json");
        assertThat(t.metricPatterns()).hasSize(1);
        assertThat(t.timeout()).isEqualTo(Duration.ofMinutes(90));
        assertThat(t.env()).containsEntry("OMP_NUM_THREADS", "4");
    }

    @Test
    void paramsYamlIsReadWhenPresent() throws Exception {
        Files.writeString(dir.resolve("params.yaml"), "train:\n  lr: 0.5\n");
        TaskConfig t = load("run: python t.py\n");
        assertThat(t.paramsFile()).isEqualTo("params.yaml");
        assertThat(t.params().get("train.lr")).contains(0.5);
    }

    @Test
    void maxRecoveriesDefaultsToThreeAndAWrongValueNamesItsLine() throws Exception {
        assertThat(load("run: python t.py\n").maxRecoveries()).isEqualTo(TaskConfig.DEFAULT_MAX_RECOVERIES).isEqualTo(3);
        assertThat(load("run: python t.py\nmax_recoveries: 0\n").maxRecoveries()).isZero();
        ConfigException e = error("run: python t.py\nmax_recoveries: -1\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("'max_recoveries'").contains("0 to 100");
    }

    @Test
    void unknownFieldNamesLineAndSuggests() {
        ConfigException e = error("name: x\nrnu: python t.py\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.getMessage()).contains("sortie.yaml:2").contains("'rnu'").contains("did you mean 'run'").contains("valid fields");
    }

    @Test
    void wrongTypesNameFieldAndLine() throws Exception {
        ConfigException e = error("run: x\nresources:\n  gpus: two\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.field()).isEqualTo("resources.gpus");
        assertThat(e.getMessage()).contains("whole number");
        assertThat(load("run: x\nresources: {gpus: \"A10G:2\"}\n").resources()).satisfies(r -> {
            assertThat(r.gpus()).isEqualTo(2);
            assertThat(r.gpuModel()).isEqualTo("A10G");
        });
        assertThat(load("run: x\nresources: {gpus: H100}\n").resources().gpus()).isEqualTo(1);
        assertThat(error("run: x\ntimeout: soon\n").getMessage()).contains(":2").contains("'timeout'").contains("e.g. 90s");
        assertThat(error("run: x\nresources: {memory: lots}\n").getMessage()).contains("e.g. 512M");
        assertThat(error("run: x\nartifacts: [../secret]\n").getMessage()).contains("artifacts[0]").contains("inside the project");
    }

    @Test
    void theTasksDeclaredDataIsAListOfPathsInsideTheProject() throws Exception {
        assertThat(load("run: x\n").data()).isEmpty();
        assertThat(load("run: x\ndata: [data/, extra/labels.csv]\n").data()).containsExactly("data/", "extra/labels.csv");
        assertThat(load("run: x\ndata: data/\n").data()).containsExactly("data/");
        assertThat(error("run: x\ndata: [../elsewhere]\n").getMessage()).contains("data[0]").contains("inside the project");
        assertThat(error("run: x\ndata: {path: x}\n").getMessage()).contains("'data'").contains("a path or a list of paths");
    }

    @Test
    void badRegexIsLocated() {
        ConfigException e = error("run: x\nmetrics:\n  - x.json\n  - {regex: 'loss (', name: loss}\n");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.field()).isEqualTo("metrics[1].regex");
    }

    @Test
    void syntaxErrorsGiveTheLine() {
        ConfigException e = error("run: x\nparams: {lr: 0.1\nname: y\n");
        assertThat(e.getMessage()).contains("invalid YAML");
        assertThat(e.line()).isGreaterThan(1);
    }

    @Test
    void duplicateKeysAreErrors() {
        assertThat(error("run: a\nrun: b\n").getMessage()).contains("Duplicate field");
    }

    @Test
    void missingParamsFileIsNamed() {
        assertThat(error("run: x\nparams: p.yaml\n").getMessage()).contains("'params'").contains("p.yaml").contains("not found");
    }

    @Test
    void emptyFileSaysWhatIsNeeded() {
        assertThat(error("").getMessage()).contains("run: <command>");
    }

    @Test
    void unitsParse() {
        assertThat(Units.duration("90")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Units.duration("2h")).isEqualTo(Duration.ofHours(2));
        assertThat(Units.size("512M")).isEqualTo(512L << 20);
        assertThat(Units.size("1.5G")).isEqualTo((long) (1.5 * (1L << 30)));
        assertThatThrownBy(() -> Units.duration("1x")).isInstanceOf(IllegalArgumentException.class);
    }
}
