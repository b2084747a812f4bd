package dev.sortie.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void readsWhatSortieTrackOpenPrints() {
        Object v = Json.parse(" {\"id\": \"a1b2\", \"name\": \"nb \\\"3\\\" \\u00e9\\ud83d\\ude00\\n\", \"n\": -12, \"x\": 1.5e3,"
                + " \"ok\": true, \"no\": false, \"z\": null, \"nested\": {\"a\": [1, 2.0, \"s\", []], \"b\": {}},"
                + " \"slash\": \"a\\/b\\\\c\\t\", \"big\": 123456789012345678901234} ");
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("id", "a1b2");
        expected.put("name", "nb \"3\" \u00e9\ud83d\ude00\n");
        expected.put("n", -12L);
        expected.put("x", 1500.0);
        expected.put("ok", true);
        expected.put("no", false);
        expected.put("z", null);
        expected.put("nested", Map.of("a", List.of(1L, 2.0, "s", List.of()), "b", Map.of()));
        expected.put("slash", "a/b\\c\t");
        expected.put("big", 1.2345678901234568E23);
        assertThat(v).isEqualTo(expected);
    }

    @Test
    void rejectsWhatIsNotJson() {
        for (String bad : new String[] {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "{\"a\":1} x", "\"\\x\"", "01a",
                "tru", "{'a':1}", "\"unterminated", "1.", "-", "1e"}) {
            assertThatThrownBy(() -> Json.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not JSON");
        }
    }

    @Test
    void writesStringsNumbersAndNestedValues() {
        assertThat(Json.write("a\"b\\c\nd\u0001\u2028é")).isEqualTo("\"a\\\"b\\\\c\\nd\\u0001\\u2028é\"");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("i", 3);
        m.put("l", 4L);
        m.put("d", 0.1);
        m.put("whole", 2.0);
        m.put("nan", Double.NaN);
        m.put("inf", Float.POSITIVE_INFINITY);
        m.put("ninf", Double.NEGATIVE_INFINITY);
        m.put("b", true);
        m.put("n", null);
        m.put("list", List.of(1, "x"));
        m.put("arr", new double[] {0.5, 1});
        m.put("nested", Map.of("k", Map.of()));
        m.put("other", new StringBuilder("sb"));
        m.put("enum", Thread.State.NEW);
        assertThat(Json.write(m)).isEqualTo("{\"i\":3,\"l\":4,\"d\":0.1,\"whole\":2,\"nan\":\"NaN\",\"inf\":\"Infinity\","
                + "\"ninf\":\"-Infinity\",\"b\":true,\"n\":null,\"list\":[1,\"x\"],\"arr\":[0.5,1],"
                + "\"nested\":{\"k\":{}},\"other\":\"sb\",\"enum\":\"NEW\"}");
        assertThat(Json.parse(Json.write(m))).isInstanceOf(Map.class);
    }

    @Test
    void numbersRoundTrip() {
        double[] samples = {0, -0.0, 1, -1, 0.1, 1e-7, 123456.789, 9.007199254740993E15, 1e300, -2.5e-308,
                Double.MIN_VALUE, Double.MAX_VALUE, 4.35};
        for (double d : samples) {
            StringBuilder sb = new StringBuilder();
            Json.appendNumber(sb, d);
            assertThat(((Number) Json.parse(sb.toString())).doubleValue()).as(sb.toString()).isEqualTo(d == 0 ? 0.0 : d);
        }
    }

    @Test
    void aCycleInParamsIsAClearError() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("self", m);
        assertThatThrownBy(() -> Json.write(m)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cycle");
    }

    @Test
    void timesAreEpochSecondsWithMicroseconds() {
        assertThat(time(1_718_000_000_000_123_456L)).isEqualTo("1718000000.000123");
        assertThat(time(1_718_000_000_999_999_999L)).isEqualTo("1718000000.999999");
        assertThat(time(5_000_000_000L)).isEqualTo("5.000000");
    }

    private static String time(long epochNanos) {
        ByteSink out = new ByteSink(16);
        EventWriter.appendTime(out, epochNanos);
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    @Test
    void theFlushersEncoderWritesTheSameStringsAsJson() {
        for (String s : new String[] {"", "loss", "val/acc", "a\"b\\c\nd\u0001\u001f\u2028\u2029", "\u00e9\u4e2d\ud83d\ude00",
                "tab\there", "\ud800 lone"}) {
            StringBuilder expected = new StringBuilder();
            Json.appendString(expected, s);
            String got = new String(new ByteSink(4).string(s).toByteArray(), StandardCharsets.UTF_8);
            if (s.contains("\ud800 ")) {
                assertThat(got).isEqualTo("\"? lone\"");
            } else {
                assertThat(got).as(s).isEqualTo(expected.toString());
                assertThat(Json.parse(got)).isEqualTo(s);
            }
        }
    }

    @Test
    void theFlushersNumbersAreShortAndExact() {
        assertThat(number(0.1)).isEqualTo("0.1");
        assertThat(number(-2.5)).isEqualTo("-2.5");
        assertThat(number(123456.789)).isEqualTo("123456.789");
        assertThat(number(0.00123)).isEqualTo("0.00123");
        assertThat(number(0.000123)).isEqualTo("1.23E-4");
        assertThat(number(3.0)).isEqualTo("3");
        assertThat(number(-0.0)).isEqualTo("0");
        assertThat(number(1e300)).isEqualTo("1.0E300");
        assertThat(number(Double.NaN)).isEqualTo("\"NaN\"");
        assertThat(number(Double.NEGATIVE_INFINITY)).isEqualTo("\"-Infinity\"");
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 200_000; i++) {
            double d = switch (i % 5) {
                case 0 -> random.nextDouble();
                case 1 -> random.nextGaussian() * 1e6;
                case 2 -> Math.round(random.nextDouble() * 1e6) / 1e4;
                case 3 -> Double.longBitsToDouble(random.nextLong());
                default -> (float) random.nextDouble();
            };
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                continue;
            }
            String text = number(d);
            assertThat(Double.parseDouble(text)).as(text).isEqualTo(d == 0 ? 0.0 : d);
            assertThat(text.length()).as(text).isLessThanOrEqualTo(Double.toString(d).length() + 1);
        }
    }

    private static String number(double d) {
        return new String(new ByteSink(4).number(d).toByteArray(), StandardCharsets.US_ASCII);
    }
}
