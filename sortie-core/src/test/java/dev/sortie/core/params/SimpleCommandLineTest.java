package dev.sortie.core.params;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SimpleCommandLineTest {
    private final Params params = Params.of(Map.of("lr", 0.1, "name", "a b $(rm -rf ~)", "train", Map.of("epochs", 3L)));

    @Test
    void plainLinesBecomeArgvWithLiteralParams() {
        assertThat(SimpleCommandLine.argv("python3 train.py --lr ${lr} --epochs=${train.epochs}", params))
                .contains(java.util.List.of("python3", "train.py", "--lr", "0.1", "--epochs=3"));
        assertThat(SimpleCommandLine.argv("python3 -c 'import sys; print(sys.argv)' \"run ${name}\" x${lr}y", params))
                .contains(java.util.List.of("python3", "-c", "import sys; print(sys.argv)", "run a b $(rm -rf ~)", "x0.1y"));
        assertThat(SimpleCommandLine.argv("echo '${lr}' '$HOME'", params)).contains(java.util.List.of("echo", "0.1", "$HOME"));
    }

    @Test
    void anythingAShellWouldInterpretKeepsTheShell() {
        for (String line : new String[] {"a && b", "a; b", "a | b", "a > out", "a < in", "echo *.py", "echo $HOME", "echo ${HOME}",
                "echo \"$HOME\"", "echo `id`", "echo $(id)", "a\\ b", "FOO=1 python t.py", "cd x", "export A=1", "a &",
                "echo \"unterminated", "echo ~", "echo {a,b}", "x\ny", "echo \"a\\\"b\"", "if true", "time python t.py", ""}) {
            assertThat(SimpleCommandLine.argv(line, params)).as(line).isEmpty();
        }
    }
}
