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
        return new Condition(text, m.group(1), op, m.group(3));
    }

    /** The value as a number, or null when it is not one (then it compares as text). */
    public Double number() {
        return MetricLineParser.number(value);
    }
}
