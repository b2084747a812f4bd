package dev.sortie.core.params;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParamSubstitutionTest {
    static final List<String> HOSTILE = List.of(
            "$(touch /tmp/sortie-pwned); rm -rf ~",
            "`touch /tmp/sortie-pwned`",
            "a'b\"c",
            "line1\nline2",
            "  spaced  out  ",
            "*",
            "${HOME}",
            "'; touch /tmp/sortie-pwned; echo '",
            "\"; touch /tmp/sortie-pwned; echo \"",
            "\\",
            "");

    @Test
    void envNamesFlattenNestedKeys() {
        assertThat(ParamSubstitution.envName("train.lr")).isEqualTo("SORTIE_PARAM_TRAIN_LR");
        assertThat(ParamSubstitution.envName("batch-size")).isEqualTo("SORTIE_PARAM_BATCH_SIZE");
    }

    @Test
    void argvSubstitutionIsLiteral() {
        Params p = Params.of(Map.of("lr", 0.1, "name", "$(rm -rf ~)"));
        assertThat(ParamSubstitution.argv(List.of("train.py", "--lr=${lr}", "${name}", "${unknown}"), p))
                .containsExactly("train.py", "--lr=0.1", "$(rm -rf ~)", "${unknown}");
    }

    @Test
    void shellPlaceholdersBecomeQuotedVariableReferences() {
        Params p = Params.of(Map.of("lr", 0.1));
        assertThat(ParamSubstitution.shell("python t.py --lr ${lr}", p)).isEqualTo("python t.py --lr \"${SORTIE_PARAM_LR}\"");
        assertThat(ParamSubstitution.shell("echo \"lr=${lr}\"", p)).isEqualTo("echo \"lr=${SORTIE_PARAM_LR}\"");
        assertThat(ParamSubstitution.shell("echo '${lr}'", p)).isEqualTo("echo ''\"${SORTIE_PARAM_LR}\"''");
        assertThat(ParamSubstitution.shell("echo ${HOME}", p)).isEqualTo("echo ${HOME}");
    }

    @Test
    void unknownPlaceholdersAreReported() {
        Params p = Params.of(Map.of("lr", 0.1));
        assertThat(ParamSubstitution.unknownPlaceholders("x ${lr} ${lrr} ${HOME}", p, Map.of("HOME", "/root"))).containsExactly("lrr");
    }

    /** Runs the substituted line in a real sh for each quoting context: the value must arrive byte for byte and run nothing. */
    @Tag("integration")
    @ParameterizedTest
    @ValueSource(strings = {"printf '%s' ${v} > out", "printf '%s' \"${v}\" > out", "printf '%s' '${v}' > out", "printf '%s' \"x${v}y\" > out"})
    void hostileValuesReachTheProgramLiterally(String template, @TempDir Path dir) throws Exception {
        Path marker = Path.of("/tmp/sortie-pwned");
        Files.deleteIfExists(marker);
        for (String value : HOSTILE) {
            Params p = Params.of(Map.of("v", value));
            String line = ParamSubstitution.shell(template, p);
            List<String> cmd = new ArrayList<>(List.of("sh", "-c", line));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
            pb.environment().putAll(ParamSubstitution.environment(p));
            Process proc = pb.start();
            proc.getInputStream().readAllBytes();
            assertThat(proc.waitFor()).isZero();
            String expected = template.contains("x${v}y") ? "x" + value + "y" : value;
            assertThat(Files.readString(dir.resolve("out"), StandardCharsets.UTF_8)).as(template + " with " + value).isEqualTo(expected);
            assertThat(marker).doesNotExist();
        }
    }

    /** A script handed to a shell in an argv is shell code: its placeholders are quoted references, never spliced text. */
    @Tag("integration")
    @ParameterizedTest
    @ValueSource(strings = {"sh|-c|printf '%s' \"${v}\" > out", "bash|-ec|printf '%s' ${v} > out", "/bin/sh|-o|errexit|-c|printf '%s' '${v}' > out"})
    void aShellScriptInAnArgvGetsQuotedReferences(String argvSpec, @TempDir Path dir) throws Exception {
        Path marker = Path.of("/tmp/sortie-pwned");
        Files.deleteIfExists(marker);
        for (String value : HOSTILE) {
            Params p = Params.of(Map.of("v", value));
            List<String> cmd = ParamSubstitution.argv(List.of(argvSpec.split("\\|")), p);
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
            pb.environment().putAll(ParamSubstitution.environment(p));
            Process proc = pb.start();
            proc.getInputStream().readAllBytes();
            assertThat(proc.waitFor()).isZero();
            assertThat(Files.readString(dir.resolve("out"), StandardCharsets.UTF_8)).as(argvSpec + " with " + value).isEqualTo(value);
            assertThat(marker).doesNotExist();
        }
    }

    @Test
    void onlyTheScriptOfAShellIsTreatedAsShellCode() {
        Params p = Params.of(Map.of("v", "$(x)"));
        assertThat(ParamSubstitution.argv(List.of("python", "-c", "print('${v}')"), p)).containsExactly("python", "-c", "print('$(x)')");
        assertThat(ParamSubstitution.argv(List.of("sh", "script.sh", "${v}"), p)).containsExactly("sh", "script.sh", "$(x)");
        assertThat(ParamSubstitution.argv(List.of("sh", "-c", "echo ${v}", "${v}"), p))
                .containsExactly("sh", "-c", "echo \"${SORTIE_PARAM_V}\"", "$(x)");
    }
}
