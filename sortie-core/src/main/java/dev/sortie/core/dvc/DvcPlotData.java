package dev.sortie.core.dvc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The data of a DVC plot file, read as DVC reads it: JSON or YAML (a list of rows, or an object holding one, as
 * dvclive writes {@code {"roc": [...]}}), CSV or TSV (a header row). Values are kept as text; numbers are read
 * where a curve needs them.
 */
public final class DvcPlotData {
    /** sklearn's ROC thresholds start at Infinity, which Python's json writes as a bare token. */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private DvcPlotData() {
    }

    /** A line of a curve: the y field it draws and its points, in the file's order. */
    public record Line(String field, double[] x, double[] y) {
    }

    /** A confusion matrix: the labels (actual and predicted, sorted) and the count of rows per (actual, predicted). */
    public record Confusion(String actual, String predicted, List<String> labels, long[][] counts) {
        public Confusion {
            labels = List.copyOf(labels);
        }
    }

    /** The rows of a plot file named {@code path} (its suffix says the format). */
    public static List<Map<String, String>> rows(String path, byte[] content) throws IOException {
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".csv") || p.endsWith(".tsv")) {
            return delimited(new String(content, StandardCharsets.UTF_8), p.endsWith(".tsv") ? '\t' : ',');
        }
        JsonNode root = (p.endsWith(".yaml") || p.endsWith(".yml") ? YAML : JSON).readTree(content);
        JsonNode list = root;
        if (root != null && root.isObject()) {
            list = null;
            for (JsonNode v : root) {
                if (v.isArray()) {
                    list = v;
                    break;
                }
            }
        }
        List<Map<String, String>> rows = new ArrayList<>();
        if (list == null || !list.isArray()) {
            throw new IOException(path + " holds no list of rows (DVC plots a list of objects, or an object with one)");
        }
        for (JsonNode row : list) {
            if (!row.isObject()) {
                continue;
            }
            Map<String, String> r = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                r.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString());
            }
            rows.add(r);
        }
        return rows;
    }

    private static List<Map<String, String>> delimited(String text, char sep) {
        List<Map<String, String>> rows = new ArrayList<>();
        String[] lines = text.split("\r?\n");
        if (lines.length == 0) {
            return rows;
        }
        String[] header = split(lines[0], sep);
        for (int i = 1; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String[] cells = split(lines[i], sep);
            Map<String, String> r = new LinkedHashMap<>();
            for (int c = 0; c < header.length && c < cells.length; c++) {
                r.put(header[c], cells[c]);
            }
            rows.add(r);
        }
        return rows;
    }

    private static String[] split(String line, char sep) {
        String[] cells = line.split(java.util.regex.Pattern.quote(String.valueOf(sep)), -1);
        for (int i = 0; i < cells.length; i++) {
            String c = cells[i].trim();
            cells[i] = c.length() >= 2 && c.startsWith("\"") && c.endsWith("\"") ? c.substring(1, c.length() - 1) : c;
        }
        return cells;
    }

    /**
     * The lines of a curve: one per y field ({@code plot.y()}, or the last field that is not x), x from the plot's
     * x field or the row's index where it names none (DVC's {@code step}). Rows whose values are not numbers are
     * left out.
     */
    public static List<Line> curve(DvcPlot plot, List<Map<String, String>> rows) {
        List<String> ys = new ArrayList<>(plot.y());
        if (ys.isEmpty() && !rows.isEmpty()) {
            String last = null;
            for (String k : rows.get(0).keySet()) {
                if (!k.equals(plot.x()) && !k.equals("step")) {
                    last = k;
                }
            }
            if (last != null) {
                ys.add(last);
            }
        }
        boolean byIndex = plot.x() == null || (plot.x().equals("step") && !rows.isEmpty() && !rows.get(0).containsKey("step"));
        List<Line> lines = new ArrayList<>();
        for (String field : ys) {
            double[] x = new double[rows.size()];
            double[] y = new double[rows.size()];
            int n = 0;
            for (int i = 0; i < rows.size(); i++) {
                Double xv = byIndex ? Double.valueOf(i) : number(rows.get(i).get(plot.x()));
                Double yv = number(rows.get(i).get(field));
                if (xv != null && yv != null) {
                    x[n] = xv;
                    y[n] = yv;
                    n++;
                }
            }
            lines.add(new Line(field, java.util.Arrays.copyOf(x, n), java.util.Arrays.copyOf(y, n)));
        }
        return lines;
    }

    /** A confusion matrix of rows with the actual class in {@code x} and the predicted in {@code y} (dvclive's defaults). */
    public static Confusion confusion(DvcPlot plot, List<Map<String, String>> rows) {
        String actual = plot.x() == null ? "actual" : plot.x();
        String predicted = plot.y().isEmpty() ? "predicted" : plot.y().get(0);
        Set<String> labels = new java.util.TreeSet<>(DvcPlotData::compareLabels);
        for (Map<String, String> r : rows) {
            if (r.get(actual) != null && r.get(predicted) != null) {
                labels.add(r.get(actual));
                labels.add(r.get(predicted));
            }
        }
        List<String> l = new ArrayList<>(new LinkedHashSet<>(labels));
        long[][] counts = new long[l.size()][l.size()];
        for (Map<String, String> r : rows) {
            int a = l.indexOf(r.get(actual));
            int p = l.indexOf(r.get(predicted));
            if (a >= 0 && p >= 0) {
                counts[a][p]++;
            }
        }
        return new Confusion(actual, predicted, l, counts);
    }

    /** Class labels in numeric order where both are numbers ("2" before "10"), else as text. */
    private static int compareLabels(String a, String b) {
        Double x = number(a);
        Double y = number(b);
        if (x != null && y != null) {
            int c = Double.compare(x, y);
            return c != 0 ? c : a.compareTo(b);
        }
        return a.compareTo(b);
    }

    private static Double number(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        try {
            double d = Double.parseDouble(s.trim());
            return Double.isFinite(d) ? d : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
