package dev.sortie.core.dvc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DVC 3's templating in dvc.yaml ({@code vars}, {@code ${...}}), each rule as DVC's docs and parser have it. */
class DvcTemplatingTest {
    @TempDir
    Path dir;

    private DvcPipeline pipeline(String dvcYaml) throws Exception {
        Path file = dir.resolve("dvc.yaml");
        Files.writeString(file, dvcYaml);
        return DvcPipeline.read(file);
    }

    private void write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
    }

    @Test
    void paramsYamlIsTheDefaultVarsAndKeepsDvcsSpellingOfNumbers() throws Exception {
        write("params.yaml", """
                train:
                  lr: 0.0010
                  tiny: 0.00001
                  big: 1.0e+16
                  epochs: 10
                  ratio: 0.20
                  layers: [64, 32]
                  shuffle: true
                  name: base model
                """);
        DvcPipeline p = pipeline("""
                stages:
                  train:
                    cmd: python train.py --lr ${train.lr} --tiny ${ train.tiny } --big ${train.big} -e ${train.epochs} -r ${train.ratio} --l0 ${train.layers[0]} --shuffle ${train.shuffle} --n '${train.name}'
                    outs:
                      - models/${train.epochs}.pkl
                    params: [train.lr]
                """);
        assertThat(p.stage("train").cmd())
                .isEqualTo("python train.py --lr 0.001 --tiny 1e-05 --big 1e+16 -e 10 -r 0.2 --l0 64 --shuffle true --n 'base model'");
        assertThat(p.stage("train").outs()).extracting(DvcPipeline.Out::path).containsExactly("models/10.pkl");
    }

    @Test
    void topAndStageVarsMergeFilesKeysAndInlineMappings() throws Exception {
        write("params.yaml", "data: {dir: data}\n");
        write("custom.yaml", "train: {lr: 0.1, seed: 7}\nunused: {x: 1}\n");
        write("sub/local.yaml", "threshold: 0.5\n");
        DvcPipeline p = pipeline("""
                vars:
                  - params.yaml
                  - custom.yaml:train
                  - model: {name: cnn}
                stages:
                  train:
                    wdir: sub
                    vars:
                      - local.yaml
                      - {extra: 3}
                    cmd: python t.py ${data.dir} ${train.lr} ${train.seed} ${model.name} ${threshold} ${extra}
                  other:
                    cmd: echo ${model.name}
                """);
        assertThat(p.stage("train").cmd()).isEqualTo("python t.py data 0.1 7 cnn 0.5 3");
        assertThat(p.stage("train").wdir()).isEqualTo("sub");
        // a stage's vars stay its own
        assertThatThrownBy(() -> pipeline("""
                stages:
                  a:
                    vars: [{only_a: 1}]
                    cmd: echo ${only_a}
                  b:
                    cmd: echo ${only_a}
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(":6: 'stages.b.cmd': stage 'b': could not find 'only_a' in the vars; defined: data (from params.yaml)");
        // and only the keys named of a file are read
        assertThatThrownBy(() -> pipeline("""
                vars: [custom.yaml:train]
                stages:
                  a:
                    cmd: echo ${unused.x}
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("could not find 'unused.x' in the vars; defined: data, train");
    }

    @Test
    void aValueDefinedTwiceIsAnErrorAsInDvc() throws Exception {
        write("params.yaml", "train: {lr: 0.1}\n");
        write("other.yaml", "train: {lr: 0.2, seed: 1}\n");
        assertThatThrownBy(() -> pipeline("""
                vars: [other.yaml]
                stages:
                  a:
                    cmd: echo ${train.lr}
                """)).isInstanceOf(ConfigException.class)
                .hasMessage(dir.resolve("dvc.yaml") + ":1: 'vars': cannot redefine 'train.lr' from 'other.yaml' as it already exists in 'params.yaml'");
        // the same whole file twice is allowed; whole after part is not
        assertThat(pipeline("vars: [params.yaml, params.yaml]\nstages:\n  a:\n    cmd: echo ${train.lr}\n").stage("a").cmd()).isEqualTo("echo 0.1");
        assertThatThrownBy(() -> pipeline("vars: [other.yaml:seed, other.yaml]\nstages:\n  a:\n    cmd: echo\n"))
                .hasMessageContaining("could not find 'seed' in 'other.yaml'; it defines: train");
        assertThatThrownBy(() -> pipeline("stages:\n  a:\n    vars: [{train: {lr: 3}}]\n    cmd: echo\n"))
                .hasMessageContaining(":3: 'stages.a.vars': stage 'a': cannot redefine 'train.lr' from 'a.vars[0]' as it already exists in 'params.yaml'");
        assertThatThrownBy(() -> pipeline("vars: [missing.yaml]\nstages:\n  a:\n    cmd: echo\n"))
                .hasMessageContaining("'vars': vars file 'missing.yaml' does not exist");
        assertThatThrownBy(() -> pipeline("vars:\n  - ${x}.yaml\nstages:\n  a:\n    cmd: echo\n"))
                .hasMessageContaining("'vars:' cannot use ${...}");
    }

    @Test
    void foreachAndMatrixTakeWholeValueListsFromVarsAndNameStagesAsDvc() throws Exception {
        write("params.yaml", """
                models: [cnn, xgb]
                lrs: [0.1, 0.01]
                sets:
                  us: {thresh: 10}
                  uk: {thresh: 15}
                configs:
                  - {name: a, n: 1}
                  - {name: b, n: 2}
                """);
        DvcPipeline p = pipeline("""
                stages:
                  each:
                    foreach: ${models}
                    do:
                      cmd: python t.py ${item}
                  bykey:
                    foreach: ${sets}
                    do:
                      cmd: python t.py ${key} ${item.thresh}
                  composite:
                    foreach: ${configs}
                    do:
                      cmd: python t.py ${item.name} ${item.n}
                  grid:
                    matrix:
                      model: ${models}
                      lr: ${lrs}
                      opts: [{a: 1}, {a: 2}]
                    cmd: python t.py ${item.model} ${item.lr} ${item.opts.a} ${key}
                """);
        assertThat(p.stages().keySet()).containsExactly("each@cnn", "each@xgb", "bykey@us", "bykey@uk", "composite@0", "composite@1",
                "grid@cnn-0.1-opts0", "grid@cnn-0.1-opts1", "grid@cnn-0.01-opts0", "grid@cnn-0.01-opts1",
                "grid@xgb-0.1-opts0", "grid@xgb-0.1-opts1", "grid@xgb-0.01-opts0", "grid@xgb-0.01-opts1");
        assertThat(p.stage("bykey@uk").cmd()).isEqualTo("python t.py uk 15");
        assertThat(p.stage("composite@1").cmd()).isEqualTo("python t.py b 2");
        assertThat(p.stage("grid@xgb-0.01-opts1").cmd()).isEqualTo("python t.py xgb 0.01 2 xgb-0.01-opts1");
        // ${key} of a list foreach is not defined, as in DVC
        assertThatThrownBy(() -> pipeline("stages:\n  s:\n    foreach: [a]\n    do:\n      cmd: echo ${key}\n"))
                .hasMessageContaining(":5: 'stages.s.do.cmd': stage 's@a': could not find 'key' in the vars");
        // a stage's vars may not set item/key
        assertThatThrownBy(() -> pipeline("stages:\n  s:\n    foreach: [a]\n    do:\n      vars: [{item: 1}]\n      cmd: echo\n"))
                .hasMessageContaining("attempted to modify reserved key item");
    }

    @Test
    void aMappingInCmdIsUnpackedAsFlagsAsDvcDoes() throws Exception {
        write("params.yaml", """
                args:
                  lr: 0.001
                  name: my model
                  verbose: true
                  quiet: false
                  layers: [64, 32]
                  opt: {momentum: 0.9}
                """);
        assertThat(pipeline("stages:\n  t:\n    cmd: python t.py ${args}\n").stage("t").cmd())
                .isEqualTo("python t.py --lr 0.001 --name 'my model' --verbose --layers 64 32 --opt.momentum 0.9");
        write(".dvc/config", "[core]\n    remote = x\n[parsing]\n    bool = boolean_optional\n    list = append\n");
        assertThat(pipeline("stages:\n  t:\n    cmd: python t.py ${args}\n").stage("t").cmd())
                .isEqualTo("python t.py --lr 0.001 --name 'my model' --verbose --no-quiet --layers 64 --layers 32 --opt.momentum 0.9");
        // elsewhere a mapping or list cannot be interpolated
        assertThatThrownBy(() -> pipeline("stages:\n  t:\n    cmd: echo\n    deps:\n      - ${args}\n"))
                .hasMessageContaining(":4: 'stages.t.deps': stage 't': cannot interpolate data of type 'dict'");
        assertThatThrownBy(() -> pipeline("stages:\n  t:\n    cmd: echo ${args.layers}\n"))
                .hasMessageContaining("cannot interpolate data of type 'list'");
    }

    @Test
    void escapedReferencesStayLiteralAndBadOnesAreNamed() throws Exception {
        write("params.yaml", "a: {b: 1}\n");
        assertThat(pipeline("stages:\n  t:\n    cmd: echo \\${HOME} ${a.b} \\${a.b}\n").stage("t").cmd()).isEqualTo("echo ${HOME} 1 ${a.b}");
        assertThatThrownBy(() -> pipeline("stages:\n  t:\n    cmd: echo ${a.c}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessage(dir.resolve("dvc.yaml") + ":3: 'stages.t.cmd': stage 't': could not find 'a.c' in the vars; did you mean 'a.b'? 'a' defines: b");
        assertThatThrownBy(() -> pipeline("stages:\n  t:\n    cmd: echo ${a..b}\n"))
                .hasMessageContaining("'${a..b}' is not a valid reference");
        assertThatThrownBy(() -> pipeline("stages:\n  t:\n    cmd: echo ${a.b.c}\n"))
                .hasMessageContaining("'a.b' is a number, it has no 'c'");
    }

    @Test
    void topLevelMetricsAndPlotsAndParamsOfAStageAreTemplatedToo() throws Exception {
        write("params.yaml", "out: eval\nfile: train.yaml\n");
        DvcPipeline p = pipeline("""
                stages:
                  t:
                    cmd: echo
                    params:
                      - ${file}:
                          - lr
                    metrics:
                      - ${out}/m.json: {cache: false}
                metrics:
                  - ${out}/top.json
                plots:
                  - ${out}/roc.json: {x: fpr, y: tpr}
                """);
        assertThat(p.stage("t").params()).containsExactly("train.yaml:lr");
        assertThat(p.metricFiles()).containsExactly("eval/top.json", "eval/m.json");
        assertThat(p.plots()).extracting(DvcPipeline.Plot::id).containsExactly("eval/roc.json");
    }

    @Test
    void aRunsParamsTextIsReadInsteadOfTheFileOnDisk() throws Exception {
        write("params.yaml", "train: {epochs: 10}\n");
        Path file = dir.resolve("dvc.yaml");
        Files.writeString(file, "stages:\n  t:\n    cmd: python t.py ${train.epochs}\n    outs:\n      - m-${train.epochs}.pkl\n");
        DvcPipeline run = DvcPipeline.read(file, java.util.Map.of("params.yaml", "train: {epochs: 20}\n"));
        assertThat(run.stage("t").cmd()).isEqualTo("python t.py 20");
        assertThat(run.stage("t").outs()).extracting(DvcPipeline.Out::path).containsExactly("m-20.pkl");
        assertThat(DvcPipeline.read(file).stage("t").cmd()).isEqualTo("python t.py 10");
    }

    @Test
    void pythonFloatReprAsDvcPrintsIt() {
        assertThat(DvcInterpolation.pyFloat(0.1)).isEqualTo("0.1");
        assertThat(DvcInterpolation.pyFloat(1.0)).isEqualTo("1.0");
        assertThat(DvcInterpolation.pyFloat(1e-4)).isEqualTo("0.0001");
        assertThat(DvcInterpolation.pyFloat(1e-5)).isEqualTo("1e-05");
        assertThat(DvcInterpolation.pyFloat(123456789012345.6)).isEqualTo("123456789012345.6");
        assertThat(DvcInterpolation.pyFloat(1e16)).isEqualTo("1e+16");
        assertThat(DvcInterpolation.pyFloat(2.5e-7)).isEqualTo("2.5e-07");
        assertThat(DvcInterpolation.pyFloat(-3.0e20)).isEqualTo("-3e+20");
        assertThat(DvcInterpolation.pyFloat(0.3)).isEqualTo("0.3");
        assertThat(DvcInterpolation.pyFloat(2.0E-3)).isEqualTo("0.002");
    }
}
