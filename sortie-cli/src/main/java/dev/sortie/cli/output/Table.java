package dev.sortie.cli.output;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A table of cells, printed four ways: aligned text for people (numbers right-aligned, long cells cut), CSV and
 * Markdown for other tools, and JSON (a list of objects, raw values) for programs.
 */
public final class Table {
    private static final int MAX_CELL = 48;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final List<String> headers;
    private final List<List<Object>> rows = new ArrayList<>();
    /** Text lines fit this many characters (0: no limit, each cell cut at {@link #MAX_CELL} instead). */
    private int lineWidth;

    public Table(List<String> headers) {
        this.headers = List.copyOf(headers);
    }

    public void add(List<Object> row) {
        if (row.size() != headers.size()) {
            throw new IllegalArgumentException("row has " + row.size() + " cells, table has " + headers.size() + " columns");
        }
        rows.add(new ArrayList<>(row));
    }

    /**
     * Text output fits lines of {@code columns} characters (a terminal's width): cells are not cut at a fixed length
     * but the widest columns give way until the line fits, so a wide terminal shows whole values.
     */
    public Table fit(int columns) {
        this.lineWidth = Math.max(columns, 1);
        return this;
    }

    public List<String> headers() {
        return headers;
    }

    public int size() {
        return rows.size();
    }

    /** Prints in one write: System.out flushes on every line, which costs a syscall per row on big tables. */
    public void print(Format format, PrintStream out) {
        StringBuilder sb = new StringBuilder(64 + rows.size() * headers.size() * 8);
        switch (format) {
            case TEXT -> text(sb);
            case CSV -> csv(sb);
            case MARKDOWN -> markdown(sb);
            case JSON -> json(sb);
        }
        out.print(sb);
        out.flush();
    }

    private void text(StringBuilder sb) {
        int n = headers.size();
        int[] width = new int[n];
        boolean[] numeric = new boolean[n];
        List<String[]> cells = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            width[c] = headers.get(c).length();
            numeric[c] = !rows.isEmpty();
        }
        for (List<Object> row : rows) {
            String[] r = new String[n];
            for (int c = 0; c < n; c++) {
                Object v = row.get(c);
                r[c] = lineWidth > 0 ? oneLine(Cells.text(v)) : cut(Cells.text(v));
                width[c] = Math.max(width[c], r[c].length());
                if (v != null && !(v instanceof Number) && !r[c].isEmpty()) {
                    numeric[c] = false;
                }
            }
            cells.add(r);
        }
        if (lineWidth > 0) {
            shrinkToFit(width);
            for (String[] r : cells) {
                for (int c = 0; c < n; c++) {
                    r[c] = cutTo(r[c], width[c]);
                }
            }
        }
        line(sb, headers.toArray(new String[0]), width, numeric);
        for (String[] r : cells) {
            line(sb, r, width, numeric);
        }
    }

    private static void line(StringBuilder sb, String[] cells, int[] width, boolean[] right) {
        int start = sb.length();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                sb.append("  ");
            }
            String s = cells[c];
            int pad = width[c] - s.length();
            if (right[c]) {
                pad(sb, pad).append(s);
            } else {
                sb.append(s);
                if (c < cells.length - 1) {
                    pad(sb, pad);
                }
            }
        }
        int end = sb.length();
        while (end > start && sb.charAt(end - 1) == ' ') {
            end--;
        }
        sb.setLength(end);
        sb.append('\n');
    }

    private static StringBuilder pad(StringBuilder sb, int n) {
        for (int i = 0; i < n; i++) {
            sb.append(' ');
        }
        return sb;
    }

    private static String cut(String s) {
        return cutTo(oneLine(s), MAX_CELL);
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }

    private static String cutTo(String s, int width) {
        return s.length() <= width ? s : s.substring(0, Math.max(width - 1, 0)) + "…";
    }

    /** Narrows the widest column, one character at a time, until a line fits; no column below its header or 8. */
    private void shrinkToFit(int[] width) {
        int total = 2 * (width.length - 1);
        for (int w : width) {
            total += w;
        }
        while (total > lineWidth) {
            int widest = -1;
            for (int c = 0; c < width.length; c++) {
                if (width[c] > Math.max(headers.get(c).length(), 8) && (widest < 0 || width[c] > width[widest])) {
                    widest = c;
                }
            }
            if (widest < 0) {
                return; // every column at its least: the line stays longer than the terminal
            }
            width[widest]--;
            total--;
        }
    }

    private void csv(StringBuilder sb) {
        sb.append(String.join(",", headers.stream().map(Table::csv).toList())).append('\n');
        for (List<Object> row : rows) {
            for (int c = 0; c < row.size(); c++) {
                if (c > 0) {
                    sb.append(',');
                }
                sb.append(csv(Cells.raw(row.get(c))));
            }
            sb.append('\n');
        }
    }

    private static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    private void markdown(StringBuilder sb) {
        sb.append("| ").append(String.join(" | ", headers.stream().map(Table::md).toList())).append(" |\n");
        sb.append('|').append(" --- |".repeat(headers.size())).append('\n');
        for (List<Object> row : rows) {
            sb.append('|');
            for (Object v : row) {
                sb.append(' ').append(md(Cells.text(v))).append(" |");
            }
            sb.append('\n');
        }
    }

    private static String md(String s) {
        return s.replace("|", "\\|").replace('\n', ' ');
    }

    private void json(StringBuilder sb) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (List<Object> row : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int c = 0; c < headers.size(); c++) {
                m.put(headers.get(c), Cells.json(row.get(c)));
            }
            list.add(m);
        }
        try {
            sb.append(JSON.writeValueAsString(list)).append('\n');
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public enum Format { TEXT, CSV, MARKDOWN, JSON }
}
