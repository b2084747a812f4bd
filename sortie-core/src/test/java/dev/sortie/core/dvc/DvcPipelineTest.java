package dev.sortie.core.dvc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DvcPipelineTest {
    static final Path FILE = Path.of("/proj/dvc.yaml");

    static final String TUTORIAL = """
            stages:
              prepare:
                cmd: python src/prepare.py data/data.xml
                deps: [data/data.xml, src/prepare.py]
                params: [prepare.seed, prepare.split]
                outs: [data/prepared]
              featurize:
                cmd: python src/featurization.py data/prepared data/features
                deps: [data/prepared, src/featurization.py]
                params: [featurize.max_features, featurize.ngrams]
                outs: [data/features]
              train:
                cmd: python src/train.py data/features model.pkl
                deps: [data/features, src/train.py]
                params: [train.seed, train.n_est, train.min_split]
                outs: [model.pkl]
              evaluate:
                cmd:
                  - python src/evaluate.py model.pkl data/features
                  - echo done
                wdir: .
                deps: [data/features/test.txt, model.pkl, src/evaluate.py]
                params: [{other.yaml: [a.b]}]
                metrics: [eval/metrics.json: {cache: false}]
                plots:
                  - eval/plots/roc.json: {cache: false, x: fpr, y: tpr}
                  - eval/plots/images
            metrics:
              - dvclive/metrics.json
            plots:
              - ROC:
                  template: simple
                  x: fpr
                  y: {eval/plots/roc.json: tpr}
              - eval/importance.png
            """;

    @Test
    void readsTheTutorialsStagesAndWhatTheyDeclare() {
        DvcPipeline p = DvcPipeline.parse(FILE, TUTORIAL);
        assertThat(p.stages()).containsOnlyKeys("prepare", "featurize", "train", "evaluate");
        DvcPipeline.Stage ev = p.stage("evaluate");
        assertThat(ev.cmd()).isEqualTo("python src/evaluate.py model.pkl data/features && echo done");
        assertThat(ev.params()).containsExactly("other.yaml:a.b");
        assertThat(ev.metrics()).containsExactly(new DvcPipeline.Out("eval/metrics.json", false, Map.of("cache", false)));
        assertThat(ev.plots()).extracting(DvcPipeline.Out::path).containsExactly("eval/plots/roc.json", "eval/plots/images");
        assertThat(ev.plots().get(0).options()).containsEntry("x", "fpr").containsEntry("y", "tpr");
        assertThat(p.stage("train").outs()).containsExactly(new DvcPipeline.Out("model.pkl", true, Map.of()));
        assertThat(p.metricFiles()).containsExactly("dvclive/metrics.json", "eval/metrics.json");
        assertThat(p.plots()).extracting(DvcPipeline.Plot::id).containsExactly("ROC", "eval/importance.png");
        assertThat(p.plots().get(0).options()).containsEntry("y", Map.of("eval/plots/roc.json", "tpr"));
    }

    @Test
    void aStagesUpstreamIsWhatDvcReproRunsInOrder() {
        DvcPipeline p = DvcPipeline.parse(FILE, TUTORIAL);
        assertThat(p.upstream("train")).extracting(DvcPipeline.Stage::name).containsExactly("prepare", "featurize", "train");
        // a dep inside an out folder depends on its stage
        assertThat(p.upstream("evaluate")).extracting(DvcPipeline.Stage::name).containsExactly("prepare", "featurize", "train", "evaluate");
        assertThat(p.upstream("prepare")).extracting(DvcPipeline.Stage::name).containsExactly("prepare");
    }

    @Test
    void pathsOfAStageWithAWdirAreRelativeToIt() {
        DvcPipeline p = DvcPipeline.parse(FILE, """
                stages:
                  eval:
                    cmd: python ev.py
                    wdir: sub
                    metrics: [../m.json, out/s.json]
                """);
        assertThat(p.metricFiles()).containsExactly("m.json", "sub/out/s.json");
    }

    @Test
    void foreachAndMatrixStagesGetDvcsNames() {
        DvcPipeline p = DvcPipeline.parse(FILE, """
                stages:
                  cleanups:
                    foreach: [raw, labels]
                    do:
                      cmd: python clean.py ${item}
                      outs:
                        - clean/${item}.csv
                  models:
                    foreach:
                      us: {thresh: 10}
                      uk: {thresh: 15}
                    do:
                      cmd: python train.py ${key} ${item.thresh}
                      metrics:
                        - m/${key}.json
                  grid:
                    matrix:
                      model: [cnn, xgb]
                      feature: [a, b]
                    cmd: python t.py ${item.model} ${item.feature}
                """);
        assertThat(p.stages().keySet()).containsExactly("cleanups@raw", "cleanups@labels", "models@us", "models@uk",
                "grid@cnn-a", "grid@cnn-b", "grid@xgb-a", "grid@xgb-b");
        assertThat(p.stage("cleanups@labels").outs()).extracting(DvcPipeline.Out::path).containsExactly("clean/labels.csv");
        assertThat(p.stage("models@uk").cmd()).isEqualTo("python train.py uk 15");
        assertThat(p.stage("grid@xgb-b").cmd()).isEqualTo("python t.py xgb b");
        assertThat(p.metricFiles()).containsExactly("m/us.json", "m/uk.json");
    }

    @Test
    void anUnknownStageNamesTheStagesThereAre() {
        DvcPipeline p = DvcPipeline.parse(FILE, TUTORIAL);
        assertThatThrownBy(() -> p.stage("trian")).isInstanceOf(ConfigException.class)
                .hasMessage("/proj/dvc.yaml: no stage 'trian'; did you mean 'train'? its stages: prepare, featurize, train, evaluate");
    }

    @Test
    void mistakesNameDvcYamlTheLineTheStageAndTheField() {
        assertThatThrownBy(() -> DvcPipeline.parse(FILE, """
                stages:
                  train:
                    cmd: python t.py
                    outs: model.pkl
                """)).isInstanceOf(ConfigException.class)
                .hasMessage("/proj/dvc.yaml:4: 'stages.train.outs': stage 'train': expected a list of paths, found a string");
        assertThatThrownBy(() -> DvcPipeline.parse(FILE, """
                stages:
                  train:
                    cmd: python t.py
                    out: [model.pkl]
                """)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("/proj/dvc.yaml:4: 'stages.train.out': unknown field; did you mean 'outs'?");
        assertThatThrownBy(() -> DvcPipeline.parse(FILE, """
                stages:
                  train:
                    deps: [a]
                """)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("/proj/dvc.yaml:2: 'stages.train.cmd': stage 'train': expected the command");
        assertThat(DvcPipeline.parse(FILE, "").stages()).isEmpty();
        assertThat(List.of()).isEmpty();
    }
}
