package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sortie.core.dvc.DvcPipeline;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * DVC's templating ({@code vars}, {@code ${...}}) read by Sortie as real DVC reads it: the stage names of
 * {@code dvc stage list} and the commands DVC ran (dvc.lock) equal DvcPipeline's, and {@code sortie run --stage} of a
 * templated stage records the params and metrics DVC's own run gives.
 */
@Tag("integration")
@ExtendWith(DvcVenv.class)
class DvcTemplatingTest {
    @TempDir
    Path tmp;

    static final String PARAMS = """
            train:
              lr: 0.0010
              tiny: 0.00001
              big: 1.0e+16
              epochs: 10
              ratio: 0.20
              shuffle: true
              name: base model
            models: [cnn, xgb]
            lrs: [0.1, 0.01]
            sets:
              us: {thresh: 10}
              uk: {thresh: 15}
            configs:
              - {name: a, n: 1}
              - {name: b, n: 2}
            args:
              lr: 0.001
              name: my model
              verbose: true
              quiet: false
              layers: [64, 32]
              opt: {momentum: 0.9}
            """;

    static final String DVC_YAML = """
            vars:
              - custom.yaml:extra
              - inline: {flag: false, n: 3}
            stages:
              plain:
                cmd: echo ${train.lr} ${train.tiny} ${train.big} ${train.epochs} ${train.ratio} ${train.shuffle} '${train.name}' ${extra.seed} ${inline.flag} \\${HOME}
              local:
                wdir: sub
                vars:
                  - local.yaml
                  - {own: 1.5e-07}
                cmd:
                  - echo ${threshold} ${own}
                  - echo ${inline.n}
              unpack:
                cmd: echo ${args}
              each:
                foreach: ${models}
                do:
                  cmd: echo ${item}
              bykey:
                foreach: ${sets}
                do:
                  cmd: echo ${key} ${item.thresh}
              composite:
                foreach: ${configs}
                do:
                  cmd: echo ${item.name} ${item.n}
              grid:
                matrix:
                  model: ${models}
                  lr: ${lrs}
                  opts: [{a: 1}, {a: 2}]
                  on: [true, false]
                cmd: echo ${item.model} ${item.lr} ${item.opts.a} ${item.on} ${key}
            """;

    @Test
    void stageNamesAndCommandsEqualWhatDvcListsAndRuns() throws Exception {
        TestProject project = new TestProject(tmp.resolve("proj"));
        project.write("params.yaml", PARAMS).write("custom.yaml", "extra: {seed: 7, unused: 1}\nother: {x: 1}\n")
                .write("sub/local.yaml", "threshold: 0.5\n").write("dvc.yaml", DVC_YAML);
        DvcProjectTest.dvc(project, "init", "-q");
        project.commit();

        DvcPipeline ours = DvcPipeline.read(project.dir.resolve("dvc.yaml"));
        List<String> listed = DvcProjectTest.dvc(project, "stage", "list", "--name-only").lines().map(String::strip)
                .filter(l -> !l.isEmpty()).toList();
        assertThat(new ArrayList<>(ours.stages().keySet())).isEqualTo(listed);
        assertThat(listed).contains("grid@xgb-0.01-opts1-false", "composite@1", "bykey@uk");

        DvcProjectTest.dvc(project, "repro", "-q");
        JsonNode lock = new ObjectMapper(new YAMLFactory()).readTree(project.dir.resolve("dvc.lock").toFile()).get("stages");
        Map<String, String> dvcs = new LinkedHashMap<>();
        lock.fields().forEachRemaining(e -> {
            JsonNode cmd = e.getValue().get("cmd");
            List<String> lines = new ArrayList<>();
            if (cmd.isArray()) {
                cmd.forEach(c -> lines.add(c.asText()));
            } else {
                lines.add(cmd.asText());
            }
            dvcs.put(e.getKey(), String.join(" && ", lines));
        });
        Map<String, String> sorties = new LinkedHashMap<>();
        ours.stages().forEach((name, st) -> sorties.put(name, st.cmd()));
        assertThat(new TreeMap<>(sorties)).isEqualTo(new TreeMap<>(dvcs));
        assertThat(sorties.get("plain")).isEqualTo("echo 0.001 1e-05 1e+16 10 0.2 true 'base model' 7 false ${HOME}");

        // a key DVC cannot find is refused before anything runs, as DVC refuses it: exit 2 naming file, line, stage, key
        project.write("dvc.yaml", DVC_YAML.replace("${train.epochs}", "${train.epoch}")).commit();
        TestProject.Result bad = project.sortie("run", "--stage", "plain");
        assertThat(bad.code()).as(bad.err()).isEqualTo(2);
        assertThat(bad.err()).contains("dvc.yaml:6: 'stages.plain.cmd': stage 'plain': could not find 'train.epoch' in the vars; did you mean 'train.epochs'?");
    }

    @Test
    void runStageOfATemplatedStageRunsItsRealCommandAndRecordsWhatDvcsOwnRunDoes() throws Exception {
        TestProject project = DvcProjectTest.tutorial(tmp);
        project.write("src/report.py", """
                import json, os, sys
                n_est, split, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
                os.makedirs(os.path.dirname(out), exist_ok=True)
                json.dump({"report": {"score": n_est * split, "n_est": n_est}}, open(out, "w"))
                """);
        project.write("dvc.yaml", DvcProjectTest.DVC_YAML + """
                  report:
                    vars:
                      - out: {dir: eval}
                    cmd: python src/report.py ${train.n_est} ${prepare.split} ${out.dir}/report-${train.n_est}.json
                    deps: [src/report.py]
                    params: [train.n_est, prepare.split]
                    metrics:
                      - ${out.dir}/report-${train.n_est}.json:
                          cache: false
                """).commit();

        TestProject.Result run = project.sortie("run", "-n", "tpl", "--stage", "report", "-S", "train.n_est=70");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        assertThat(DvcProjectTest.log(project, "tpl")).contains("Running stage 'report'", "python src/report.py 70 0.2 eval/report-70.json");
        // the out named by the run's -S value is the one brought back
        assertThat(run.err()).contains("eval/report-70.json");
        assertThat(Files.readString(project.dir.resolve("eval/report-70.json"))).contains("\"n_est\": 70");
        Map<String, Double> ours;
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            Experiment e = l.find("tpl").orElseThrow();
            assertThat(e.params().get("train.n_est")).contains(70L);
            ours = new TreeMap<>(l.latestMetrics(e.id()));
        }
        ours.keySet().removeIf(k -> k.startsWith("sys/"));

        DvcProjectTest.dvc(project, "exp", "run", "-q", "report", "-S", "train.n_est=70");
        JsonNode shown = new ObjectMapper().readTree(DvcProjectTest.dvc(project, "exp", "show", "--json", "--no-pager"));
        Map<String, Double> dvcs = new TreeMap<>();
        shown.get(0).get("data").get("metrics").fields().forEachRemaining(f -> flatten("", f.getValue().path("data"), dvcs));
        assertThat(dvcs).as(shown.toString()).containsEntry("report.score", 14.0);
        assertThat(ours).isEqualTo(dvcs);
    }

    private static void flatten(String prefix, JsonNode node, Map<String, Double> out) {
        node.fields().forEachRemaining(f -> {
            String key = prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey();
            if (f.getValue().isNumber()) {
                out.put(key, f.getValue().asDouble());
            } else if (f.getValue().isObject()) {
                flatten(key, f.getValue(), out);
            }
        });
    }
}
