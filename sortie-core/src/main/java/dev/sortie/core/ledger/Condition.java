package dev.sortie.core.ledger;

import dev.sortie.core.metrics.MetricLineParser;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One condition of the filter language that {@code sortie show --filter} and the server's experiments list share:
 * {@code FIELD OP VALUE} with OP one of {@code = != < <= > >= ~} (~ is "contains"). Numbers compare as numbers,
 * everything else as text; a row without the field matches only {@code !=}.
 */
public record Condition(String text, String field, String op, String value) {
    private static final Pattern FORM = Pattern.compile("\\s*([A-Za-z0-9_.:/\\-]+)\\s*(<=|>=|!=|==|=|<|>|~)\\s*(.*?)\\s*");

    public static Condition parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("--filter '" + text + "': expected FIELD OP VALUE with OP one of = != < <= > >= ~, e.g. 'loss<0.3' or 'status=failed'");
        }
        String op = m.group(2).equals("==") ? "=" : m.group(2);
        String value = m.group(3);
        // 'loss<<0.3' or 'loss<=>1' would compare with the text '<0.3' and keep rows nobody meant
        if (!value.isEmpty() && "<>=!~".indexOf(value.charAt(0)) >= 0) {
            throw new IllegalArgumentException("--filter '" + text + "': expected a value after '" + op + "', got '" + value
                    + "' (one operator of = != < <= > >= ~), e.g. '" + m.group(1) + op + "0.3'");
        }
        if (value.isEmpty() && !op.equals("=") && !op.equals("!=") && !op.equals("~")) {
            throw new IllegalArgumentException("--filter '" + text + "': expected a value after '" + op + "', e.g. '" + m.group(1) + op + "0.3'");
        }
        return new Condition(text, m.group(1), op, value);
    }

    /** True when this condition orders or equates values but its value is no number (so a column of numbers refuses it). */
    public boolean needsNumber() {
        return !op.equals("~") && number() == null;
    }

    /** The value as a number, or null when it is not one (then it compares as text). */
    public Double number() {
        return MetricLineParser.number(value);
    }
}
