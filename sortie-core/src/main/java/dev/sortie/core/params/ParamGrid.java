package dev.sortie.core.params;

import java.util.ArrayList;
import java.util.List;

/**
 * The grid of a queued run: each {@code -S key=v1,v2,v3} is a list of values, and the grid is the cross product
 * of all lists ({@code -S lr=0.1,0.01 -S bs=32,64} is 4 experiments). A comma that belongs to a value is written
 * {@code \,}.
 */
public final class ParamGrid {
    /** More than this many combinations in one call is almost certainly a mistake. */
    public static final int MAX_COMBINATIONS = 100_000;

    private ParamGrid() {
    }

    public static List<List<ParamOverride>> expand(List<String> raw) {
        List<List<ParamOverride>> grid = new ArrayList<>();
        grid.add(List.of());
        for (String text : raw) {
            ParamOverride base = ParamOverride.parse(text);
            List<String> values = splitValues(base.rawValue());
            if ((long) grid.size() * values.size() > MAX_COMBINATIONS) {
                throw new IllegalArgumentException("the grid has more than " + MAX_COMBINATIONS + " combinations; split it into several calls");
            }
            List<List<ParamOverride>> next = new ArrayList<>(grid.size() * values.size());
            for (List<ParamOverride> combo : grid) {
                for (String v : values) {
                    List<ParamOverride> c = new ArrayList<>(combo);
                    c.add(new ParamOverride(base.key(), v, base.add()));
                    next.add(c);
                }
            }
            grid = next;
        }
        return grid;
    }

    /** Splits on commas not preceded by a backslash; {@code \,} becomes a comma and {@code \\} a backslash. */
    static List<String> splitValues(String value) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < value.length() && (value.charAt(i + 1) == ',' || value.charAt(i + 1) == '\\')) {
                cur.append(value.charAt(++i));
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
