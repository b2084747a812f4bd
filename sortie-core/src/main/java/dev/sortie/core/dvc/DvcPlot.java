package dev.sortie.core.dvc;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One plot as DVC draws it: a file (relative to the run's work folder root, '/'-separated, as the experiment's
 * artifacts are recorded), its template ({@code linear}, {@code simple}, {@code scatter}, {@code smooth},
 * {@code confusion}, {@code confusion_normalized}...) and the fields on its axes. {@code x} null: the row's index
 * (DVC's {@code step}); {@code y} empty: the last field of the rows that is not {@code x}.
 */
public record DvcPlot(String path, String template, String x, List<String> y, String title) {
    public enum Kind { CURVE, CONFUSION, IMAGE }

    private static final List<String> IMAGE_SUFFIXES = List.of(".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp");

    public DvcPlot {
        Objects.requireNonNull(path, "path");
        template = template == null || template.isBlank() ? "linear" : template;
        y = y == null ? List.of() : List.copyOf(y);
        title = title == null || title.isBlank() ? path : title;
    }

    public Kind kind() {
        if (isImage(path)) {
            return Kind.IMAGE;
        }
        return template.startsWith("confusion") ? Kind.CONFUSION : Kind.CURVE;
    }

    public static boolean isImage(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        return IMAGE_SUFFIXES.stream().anyMatch(p::endsWith);
    }

    /** A data file DVC can plot: JSON, YAML, CSV or TSV. */
    public static boolean isData(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        return p.endsWith(".json") || p.endsWith(".yaml") || p.endsWith(".yml") || p.endsWith(".csv") || p.endsWith(".tsv");
    }

    /** The MIME type of an image plot, for embedding it. */
    public String imageType() {
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".svg")) {
            return "image/svg+xml";
        }
        if (p.endsWith(".jpg") || p.endsWith(".jpeg")) {
            return "image/jpeg";
        }
        return "image/" + p.substring(p.lastIndexOf('.') + 1);
    }
}
