package dev.sortie.cli.output;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableTest {
    private static String print(Table t, Table.Format f) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        t.print(f, new PrintStream(out, true, StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    private static Table sample() {
        Table t = new Table(List.of("name", "lr", "loss", "note"));
        t.add(Arrays.asList("a", 0.1, 0.123456789, "x,y"));
        t.add(Arrays.asList("longer-name", 10L, null, "say \"hi\""));
        return t;
    }

    @Test
    void textAlignsColumnsAndRightAlignsNumbers() {
        List<String> lines = print(sample(), Table.Format.TEXT).lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).isEqualTo("name          lr    loss  note");
        assertThat(lines.get(1)).isEqualTo("a            0.1  0.1235  x,y");
        assertThat(lines.get(2)).isEqualTo("longer-name   10          say \"hi\"");
    }

    @Test
    void csvQuotesAndKeepsFullPrecision() {
        assertThat(print(sample(), Table.Format.CSV)).isEqualTo("name,lr,loss,note\na,0.1,0.123456789,\"x,y\"\nlonger-name,10,,\"say \"\"hi\"\"\"\n");
    }

    @Test
    void markdownEscapesPipes() {
        Table t = new Table(List.of("a"));
        t.add(List.of("x|y"));
        assertThat(print(t, Table.Format.MARKDOWN)).isEqualTo("| a |\n| --- |\n| x\\|y |\n");
    }

    @Test
    void jsonHasRawValues() throws Exception {
        Table t = new Table(List.of("name", "duration", "loss"));
        t.add(Arrays.asList("a", Duration.ofMillis(1500), Double.NaN));
        JsonNode n = new ObjectMapper().readTree(print(t, Table.Format.JSON));
        assertThat(n.get(0).get("duration").asDouble()).isEqualTo(1.5);
        assertThat(n.get(0).get("loss").asText()).isEqualTo("NaN");
    }

    @Test
    void filtersCompareNumbersAsNumbers() {
        assertThat(RowFilter.parse("loss<0.3").test(0.25)).isTrue();
        assertThat(RowFilter.parse("loss<0.3").test(10.0)).isFalse();
        assertThat(RowFilter.parse("epochs>=10").test(9L)).isFalse();
        assertThat(RowFilter.parse("status=failed").test("failed")).isTrue();
        assertThat(RowFilter.parse("status != failed").test("succeeded")).isTrue();
        assertThat(RowFilter.parse("name~lr").test("exp-lr-1")).isTrue();
        assertThat(RowFilter.parse("loss<0.3").test(null)).isFalse();
    }

    @Test
    void numbersAreShortForPeople() {
        assertThat(Cells.number(0.123456)).isEqualTo("0.1235");
        assertThat(Cells.number(3.0)).isEqualTo("3");
        assertThat(Cells.number(1234567.0)).isEqualTo("1234567");
        assertThat(Cells.number(0.00001234)).isEqualTo("1.234e-05");
    }
}
