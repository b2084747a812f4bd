package dev.sortie.agent.remote;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.sortie.core.model.MetricPoint;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
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

    /** A diverging run's NaN and infinities go home as the strings the server reads back (they were left out before). */
    @Test
    void nonFinitePointsAreSentAsTheStringsTheServerReadsNotLeftOut() {
        ArrayNode metrics = new ObjectMapper().createArrayNode();
        Instant t = Instant.parse("2026-12-07T01:00:00Z");
        HomeReporter.addPoint(metrics, new MetricPoint("loss", 1, 0.5, t));
        HomeReporter.addPoint(metrics, new MetricPoint("loss", 2, Double.NaN, t));
        HomeReporter.addPoint(metrics, new MetricPoint("loss", 3, Double.POSITIVE_INFINITY, t));
        HomeReporter.addPoint(metrics, new MetricPoint("grad", 3, Double.NEGATIVE_INFINITY, t));
        // as the report's body is sent: its text, read back as the server reads it
        com.fasterxml.jackson.databind.JsonNode sent = assertDoesNotThrowRead(metrics.toString());
        assertThat(sent).hasSize(4);
        assertThat(sent.get(0).get("value").isNumber()).isTrue();
        assertThat(sent.get(0).get("value").asDouble()).isEqualTo(0.5);
        for (int i = 1; i < 4; i++) {
            assertThat(sent.get(i).get("value").isTextual()).as(sent.get(i).toString()).isTrue();
        }
        assertThat(sent.findValuesAsText("value")).containsExactly("0.5", "NaN", "Infinity", "-Infinity");
        assertThat(sent.get(1).get("step").asLong()).isEqualTo(2);
        assertThat(sent.get(3).get("key").asText()).isEqualTo("grad");
        assertThat(sent.get(2).get("time").asText()).isEqualTo("2026-12-07T01:00:00Z");
    }

    private static com.fasterxml.jackson.databind.JsonNode assertDoesNotThrowRead(String json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }
}
