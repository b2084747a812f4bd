package dev.sortie.core.params;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class YamlValueEditTest {
    static final String PARAMS = """
            # the tutorial's params
            prepare:
              split: 0.20   # a fifth for test
              seed: 20170428

            train:
              n_est: 50
              name: 'forest'
              layers: {depth: 4, width: 1.50}
            """;

    static Params parse(String text) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new org.yaml.snakeyaml.Yaml().load(text);
        return Params.of(m);
    }

    static Params override(Params p, String... sets) {
        return ParamOverride.apply(p, java.util.Arrays.stream(sets).map(ParamOverride::parse).toList());
    }

    @Test
    void onlyTheChangedValuesChangeAndCommentsBlankLinesAndSpellingsStay() {
        Params before = parse(PARAMS);
        Params after = override(before, "train.n_est=80", "train.layers.depth=6", "train.name=big forest");
        String edited = YamlValueEdit.apply(PARAMS, "", before, after).orElseThrow();
        assertThat(edited).isEqualTo(PARAMS.replace("n_est: 50", "n_est: 80").replace("depth: 4", "depth: 6")
                .replace("'forest'", "\"big forest\""));
        assertThat(parse(edited).flatten()).isEqualTo(after.flatten());
    }

    @Test
    void nestedParamsUnderARootKeyAsInSortieYaml() {
        String yaml = "name: demo  # the task\nrun: python3 train.py ${lr}\nparams: {lr: 0.010, epochs: 10}\n";
        Params before = Params.of(Map.of("lr", 0.01, "epochs", 10L));
        Params after = override(before, "lr=0.1");
        assertThat(YamlValueEdit.apply(yaml, "params", before, after))
                .contains("name: demo  # the task\nrun: python3 train.py ${lr}\nparams: {lr: 0.1, epochs: 10}\n");
    }

    @Test
    void whatCannotBeEditedExactlyIsLeftToARewrite() {
        Params before = parse(PARAMS);
        assertThat(YamlValueEdit.apply(PARAMS, "", before, override(before, "+train.new=1"))).isEmpty();
        String block = "note: |\n  long\n  text\nlr: 1\n";
        Params b = parse(block);
        assertThat(YamlValueEdit.apply(block, "", b, override(b, "note=short"))).isEmpty();
        String aliased = "base: &b 0.1\nlr: *b\n";
        Params a = parse(aliased);
        assertThat(YamlValueEdit.apply(aliased, "", a, override(a, "lr=0.2"))).isEmpty();
    }

    @Test
    void valuesAreWrittenAsYamlReadsThemBack() {
        assertThat(YamlValueEdit.render(1.0E-4)).contains("1.0E-4");
        assertThat(YamlValueEdit.render("a \"quoted\": text")).contains("\"a \\\"quoted\\\": text\"");
        for (Object v : List.of(0.1, 5L, true, "x: y", "0.20")) {
            String text = "k: " + YamlValueEdit.render(v).orElseThrow() + "\n";
            Object back = parse(text).flatten().get("k");
            assertThat(back instanceof Integer i ? (Object) i.longValue() : back).isEqualTo(v);
        }
    }
}
