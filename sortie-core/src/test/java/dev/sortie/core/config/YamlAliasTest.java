package dev.sortie.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Anchors and aliases in sortie.yaml and params.yaml stand for their values, as YAML says, within a limit. */
class YamlAliasTest {
    @TempDir
    Path dir;

    private TaskConfig load(String yaml) throws Exception {
        Files.writeString(dir.resolve("sortie.yaml"), yaml);
        return TaskConfigLoader.load(dir);
    }

    private ConfigException error(String yaml) {
        Throwable t = catchThrowable(() -> load(yaml));
        assertThat(t).isInstanceOf(ConfigException.class);
        return (ConfigException) t;
    }

    @Test
    void scalarAliasesGiveTheAnchorsValue() throws Exception {
        TaskConfig t = load("run: python t.py\nparams: {base: &x 0.1, lr: *x, name: &n adam, opt: *n}\n");
        assertThat(t.params().get("lr")).contains(0.1);
        assertThat(t.params().get("opt")).contains("adam");
    }

    @Test
    void mappingAndListAliasesAreCopied() throws Exception {
        TaskConfig t = load("""
                run: python t.py
                params:
                  small: &small {lr: 0.1, layers: &layers [64, 32]}
                  big: *small
                  widths: *layers
                artifacts: &outs [model.pt]
                checkpoints: *outs
                """);
        assertThat(t.params().get("big.lr")).contains(0.1);
        assertThat(t.params().get("big.layers")).contains(List.of(64L, 32L));
        assertThat(t.params().get("widths")).contains(List.of(64L, 32L));
        assertThat(t.checkpoints()).containsExactly("model.pt");
    }

    @Test
    void mergeKeysAddTheFieldsNotSetHere() throws Exception {
        TaskConfig t = load("""
                run: python t.py
                params:
                  base: &base {lr: 0.1, epochs: 5, opt: sgd}
                  extra: &extra {opt: adam, wd: 0.01}
                  fast:
                    <<: [*base, *extra]
                    epochs: 1
                """);
        @SuppressWarnings("unchecked")
        Map<String, Object> fast = (Map<String, Object>) t.params().get("fast").orElseThrow();
        assertThat(fast).containsExactly(Map.entry("lr", 0.1), Map.entry("epochs", 1L), Map.entry("opt", "sgd"), Map.entry("wd", 0.01));
    }

    @Test
    void mergeOfANonMappingIsAnError() {
        ConfigException e = error("run: x\nparams:\n  a: &a 1\n  b:\n    <<: *a\n");
        assertThat(e.getMessage()).contains("sortie.yaml:5").contains("'params.b.<<'").contains("merge key takes mappings");
    }

    @Test
    void paramsFileAliasesResolve() throws Exception {
        Files.writeString(dir.resolve("params.yaml"), "base: &x 0.1\nlr: *x\ntrain:\n  <<: {epochs: 3}\n  lr: *x\n");
        TaskConfig t = load("run: python t.py\n");
        assertThat(t.params().get("lr")).contains(0.1);
        assertThat(t.params().get("train.lr")).contains(0.1);
        assertThat(t.params().get("train.epochs")).contains(3L);
    }

    @Test
    void aliasToNoAnchorIsNamed() {
        ConfigException e = error("run: x\nparams:\n  lr: *nope\n");
        assertThat(e.getMessage()).contains("sortie.yaml:3").contains("'params.lr'").contains("'*nope'").contains("no anchor");
    }

    @Test
    @Timeout(10)
    void aliasBombIsRefusedFast() throws Exception {
        StringBuilder y = new StringBuilder("run: x\nparams:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'j'; c++) {
            String prev = "*" + (char) (c - 1);
            y.append("  ").append(c).append(": &").append(c).append(" [").append(String.join(", ", java.util.Collections.nCopies(9, prev))).append("]\n");
        }
        ConfigException e = error(y.toString());
        assertThat(e.getMessage()).contains("sortie.yaml:").contains("'params.").contains("aliases expand to more than");
        assertThat(e.line()).isGreaterThan(3);
    }

    @Test
    @Timeout(10)
    void aliasBombInParamsFileIsRefusedWithItsName() throws Exception {
        StringBuilder y = new StringBuilder("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'j'; c++) {
            String prev = "*" + (char) (c - 1);
            y.append(c).append(": &").append(c).append(" [").append(String.join(", ", java.util.Collections.nCopies(9, prev))).append("]\n");
        }
        Files.writeString(dir.resolve("params.yaml"), y.toString());
        ConfigException e = error("run: x\n");
        assertThat(e.getMessage()).contains("params.yaml:").contains("aliases expand to more than");
    }

    @Test
    void linesAreKeptWithoutAliases() {
        ConfigException e = error("run: x\nresources:\n  gpus: two\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.field()).isEqualTo("resources.gpus");
        assertThat(error("run: x\nmetrics:\n  - x.json\n  - {regex: 'loss (', name: loss}\n").field()).isEqualTo("metrics[1].regex");
    }
}
