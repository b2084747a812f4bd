package dev.sortie.core.params;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ParamOverrideTest {
    private static Params base() {
        Map<String, Object> train = new LinkedHashMap<>();
        train.put("lr", 0.01);
        train.put("epochs", 10);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("train", train);
        root.put("version", "1.0");
        root.put("name", "baseline");
        return Params.of(root);
    }

    @Test
    void nestedKeysAreOverriddenWithTypedValues() {
        Params p = ParamOverride.apply(base(), List.of(ParamOverride.parse("train.lr=0.1"), ParamOverride.parse("train.epochs=3")));
        assertThat(p.get("train.lr")).contains(0.1);
        assertThat(p.get("train.epochs")).contains(3L);
        assertThat(p.flatten().keySet()).containsExactly("train.lr", "train.epochs", "version", "name");
    }

    @Test
    void stringParamsStayStrings() {
        Params p = ParamOverride.apply(base(), List.of(ParamOverride.parse("version=2.0")));
        assertThat(p.get("version")).contains("2.0");
    }

    @Test
    void hostileValuesAreKeptAsText() {
        String hostile = "$(touch /tmp/x); rm -rf ~";
        Params p = ParamOverride.apply(base(), List.of(ParamOverride.parse("name=" + hostile)));
        assertThat(p.get("name")).contains(hostile);
    }

    @Test
    void unknownKeysNameWhatExists() {
        assertThatThrownBy(() -> ParamOverride.apply(base(), List.of(ParamOverride.parse("train.lrr=1"))))
                .hasMessageContaining("unknown param 'train.lrr'")
                .hasMessageContaining("train.lr, train.epochs, version, name")
                .hasMessageContaining("-S +train.lrr=1");
    }

    @Test
    void anUnknownKeySuggestsTheNearestParam() {
        assertThatThrownBy(() -> ParamOverride.apply(base(), List.of(ParamOverride.parse("train.lrr=1"))))
                .hasMessageContaining("did you mean 'train.lr'?");
        assertThatThrownBy(() -> ParamOverride.apply(base(), List.of(ParamOverride.parse("zzzzzz=1"))))
                .message().doesNotContain("did you mean");
    }

    @Test
    void plusAddsNewParams() {
        Params p = ParamOverride.apply(base(), List.of(ParamOverride.parse("+model.depth=4")));
        assertThat(p.get("model.depth")).contains(4L);
    }

    @Test
    void malformedOverridesExplainTheForm() {
        assertThatThrownBy(() -> ParamOverride.parse("lr")).hasMessageContaining("expected key=value");
        assertThatThrownBy(() -> ParamOverride.parse("=1")).hasMessageContaining("expected key=value");
        assertThatThrownBy(() -> ParamOverride.parse("a..b=1")).hasMessageContaining("not a param key");
    }

    @Test
    void scalarsFollowYamlCoreSchema() {
        assertThat(ParamOverride.scalar("1")).isEqualTo(1L);
        assertThat(ParamOverride.scalar("1e-3")).isEqualTo(0.001);
        assertThat(ParamOverride.scalar("true")).isEqualTo(true);
        assertThat(ParamOverride.scalar("null")).isNull();
        assertThat(ParamOverride.scalar("0.1,0.2")).isEqualTo("0.1,0.2");
        assertThat(ParamOverride.scalar("adam")).isEqualTo("adam");
    }
}
