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

    public Table(List<String> headers) {
        this.headers = List.copyOf(headers);
    }

    public void add(List<Object> row) {
        if (row.size() != headers.size()) {
            throw new IllegalArgumentException("row has " + row.size() + " cells, table has " + headers.size() + " columns");
        }
        rows.add(new ArrayList<>(row));
    }

    public List<String> headers() {
        return headers;
    }

    public int size() {
        return rows.size();
    }

    public void print(Format format, PrintStream out) {
        switch (format) {
            case TEXT -> printText(out);
            case CSV -> printCsv(out);
            case MARKDOWN -> printMarkdown(out);
            case JSON -> printJson(out);
        }
        out.flush();
    }

    private void printText(PrintStream out) {
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
                r[c] = cut(Cells.text(v));
                width[c] = Math.max(width[c], r[c].length());
                if (v != null && !(v instanceof Number) && !r[c].isEmpty()) {
                    numeric[c] = false;
                }
            }
            cells.add(r);
        }
        StringBuilder sb = new StringBuilder();
        line(sb, headers.toArray(new String[0]), width, numeric);
        for (String[] r : cells) {
            line(sb, r, width, numeric);
        }
        out.print(sb);
    }

    private static void line(StringBuilder sb, String[] cells, int[] width, boolean[] right) {
        StringBuilder l = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                l.append("  ");
            }
            String s = cells[c];
            int pad = width[c] - s.length();
            if (right[c]) {
                l.append(" ".repeat(pad)).append(s);
            } else {
                l.append(s);
                if (c < cells.length - 1) {
                    l.append(" ".repeat(pad));
                }
            }
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }

    private static String cut(String s) {
        String oneLine = s.replace('\n', ' ').replace('\r', ' ');
        return oneLine.length() <= MAX_CELL ? oneLine : oneLine.substring(0, MAX_CELL - 1) + "…";
    }

    private void printCsv(PrintStream out) {
        out.println(String.join(",", headers.stream().map(Table::csv).toList()));
        for (List<Object> row : rows) {
            List<String> r = new ArrayList<>();
            for (Object v : row) {
                r.add(csv(Cells.raw(v)));
            }
            out.println(String.join(",", r));
        }
    }

    private static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    private void printMarkdown(PrintStream out) {
        out.println("| " + String.join(" | ", headers.stream().map(Table::md).toList()) + " |");
        out.println("|" + " --- |".repeat(headers.size()));
        for (List<Object> row : rows) {
            List<String> r = new ArrayList<>();
            for (Object v : row) {
                r.add(md(Cells.text(v)));
            }
            out.println("| " + String.join(" | ", r) + " |");
        }
    }

    private static String md(String s) {
        return s.replace("|", "\\|").replace('\n', ' ');
    }

    private void printJson(PrintStream out) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (List<Object> row : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int c = 0; c < headers.size(); c++) {
                m.put(headers.get(c), Cells.json(row.get(c)));
            }
            list.add(m);
        }
        try {
            out.println(JSON.writeValueAsString(list));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public enum Format { TEXT, CSV, MARKDOWN, JSON }
}
