package dev.sortie.core.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A user regex from sortie.yaml that pulls metrics out of output lines. With a {@code name}, the value is the
 * group named {@code value} or else group 1. Without one, every named group except {@code step} is a metric
 * named after the group. A group named {@code step} gives the step.
 */
public record MetricPattern(String name, Pattern pattern) {

    private static final Pattern GROUP_NAME = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

    /** Named groups in order of appearance (Matcher.namedGroups() needs Java 20; Sortie runs on 17). */
    public java.util.Set<String> groupNames() {
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        Matcher g = GROUP_NAME.matcher(pattern.pattern());
        while (g.find()) {
            names.add(g.group(1));
        }
        return names;
    }

    public List<RawMetric> match(String line) {
        Matcher m = pattern.matcher(line);
        if (!m.find()) {
            return List.of();
        }
        java.util.Set<String> groups = groupNames();
        Long step = null;
        if (groups.contains("step") && m.group("step") != null) {
            Double s = MetricLineParser.number(m.group("step"));
            step = s == null ? null : s.longValue();
        }
        List<RawMetric> out = new ArrayList<>();
        if (name != null) {
            String text = groups.contains("value") ? m.group("value") : (m.groupCount() >= 1 ? m.group(1) : null);
            Double v = text == null ? null : MetricLineParser.number(text);
            if (v != null) {
                out.add(new RawMetric(name, v, step));
            }
            return out;
        }
        for (String group : groups) {
            if (group.equals("step")) {
                continue;
            }
            String text = m.group(group);
            Double v = text == null ? null : MetricLineParser.number(text);
            if (v != null) {
                out.add(new RawMetric(group, v, step));
            }
        }
        return out;
    }
}
