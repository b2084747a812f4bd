package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HomeReporterTest {
    /** A log read while a line is being written may end inside a character: that character waits for the next report. */
    @Test
    void aLogReadThatEndsInsideACharacterIsSentUpToTheCharacterOnly() {
        byte[] text = "loss=0.5 \u00e9t\u00e9 \u6f22 \ud83d\ude80\n".getBytes(StandardCharsets.UTF_8);
        assertThat(HomeReporter.utf8Boundary(text)).isEqualTo(text.length);
        for (int cut = 0; cut <= text.length; cut++) {
            byte[] part = Arrays.copyOf(text, cut);
            int n = HomeReporter.utf8Boundary(part);
            assertThat(n).isLessThanOrEqualTo(cut).isGreaterThanOrEqualTo(cut - 3);
            // what is sent decodes whole, and together with the rest is the text
            String sent = new String(part, 0, n, StandardCharsets.UTF_8);
            assertThat(sent.getBytes(StandardCharsets.UTF_8)).isEqualTo(Arrays.copyOf(text, n));
            assertThat(sent).doesNotContain("\ufffd");
        }
    }
}
