package dev.sortie.executor.remote.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShellQuoteTest {

    @Test
    void singleQuotesEverythingAndEscapesEmbeddedQuotes() {
        assertThat(ShellQuote.quote("plain")).isEqualTo("'plain'");
        assertThat(ShellQuote.quote("")).isEqualTo("''");
        assertThat(ShellQuote.quote("it's")).isEqualTo("'it'\\''s'");
        assertThat(ShellQuote.quote("'")).isEqualTo("''\\'''");
        assertThat(ShellQuote.join(List.of("echo", "a b", "$(x)"))).isEqualTo("'echo' 'a b' '$(x)'");
    }

    @Test
    void refusesWhatAShellCannotCarry() {
        assertThatThrownBy(() -> ShellQuote.quote("a\0b")).hasMessageContaining("NUL");
        assertThatThrownBy(() -> ShellQuote.join(List.of())).hasMessageContaining("empty");
    }

    @Test
    void aLocalShellReadsQuotedArgumentsBackLiterally() throws Exception {
        List<String> hostile = List.of("$(id)", "`id`", "it's", "\"\\", "a\nb", " ", "", "*", "$HOME");
        List<String> argv = new ArrayList<>(List.of("printf", "%s\\0"));
        argv.addAll(hostile);
        Process p = new ProcessBuilder("/bin/sh", "-c", ShellQuote.join(argv)).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        List<String> back = Arrays.asList(out.split("\0", -1));
        assertThat(back.subList(0, back.size() - 1)).containsExactlyElementsOf(hostile);
    }
}
