package dev.sortie.core.dvc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.YamlDocument;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A DVC project's {@code dvc.yaml}, read as DVC reads it: its stages (cmd, wdir, deps, params, outs, metrics, plots;
 * {@code foreach}/{@code do} and {@code matrix} stages expanded into DVC's {@code name@key} stages) and its top-level
 * {@code metrics:} and {@code plots:}, with DVC's templating done as DVC 3 does it: {@code ${...}} read from
 * params.yaml, the top-level and the stage's {@code vars:}, and a foreach/matrix stage's {@code ${item}} and
 * {@code ${key}} (see {@link DvcVars} and {@link DvcInterpolation}). Paths of a stage are relative to its
 * {@code wdir}; {@link Stage#resolve} makes them relative to the folder of dvc.yaml.
 *
 * @param file    the dvc.yaml read
 * @param stages  the stages by name, in the file's order
 * @param metrics the top-level {@code metrics:} files
 * @param plots   the top-level {@code plots:}: a file, or a plot id with its options (x, y, template, title...)
 */
public record DvcPipeline(Path file, Map<String, Stage> stages, List<String> metrics, List<Plot> plots) {
    public static final String FILE_NAME = "dvc.yaml";
    private static final System.Logger LOG = System.getLogger(DvcPipeline.class.getName());
    /** DVC's default params file, also the default source of {@code ${...}} values. */
    static final String PARAMS_FILE = "params.yaml";
    static final List<String> TOP_FIELDS = List.of("stages", "vars", "metrics", "plots", "params", "artifacts", "datasets");
    static final List<String> STAGE_FIELDS = List.of("cmd", "wdir", "deps", "params", "outs", "metrics", "plots", "frozen",
            "always_changed", "desc", "meta", "vars", "foreach", "do", "matrix");

    public DvcPipeline {
        stages = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(stages));
        metrics = List.copyOf(metrics);
        plots = List.copyOf(plots);
    }

    /**
     * One stage.
     *
     * @param wdir    the folder the command runs in, relative to dvc.yaml's folder ({@code .} when not given)
     * @param params  param keys, each as {@code file:key} when not in the default {@code params.yaml}
     * @param outs    outputs, with whether DVC caches them ({@code cache: false} for most metrics files)
     */
    public record Stage(String name, String cmd, String wdir, List<String> deps, List<String> params, List<Out> outs,
                        List<Out> metrics, List<Out> plots, boolean frozen) {
        public Stage {
            deps = List.copyOf(deps);
            params = List.copyOf(params);
            outs = List.copyOf(outs);
            metrics = List.copyOf(metrics);
            plots = List.copyOf(plots);
        }

        /** {@code path} of this stage (relative to its wdir) relative to dvc.yaml's folder, normalized. */
        public String resolve(String path) {
            if (wdir.equals(".")) {
                return Path.of(path).normalize().toString();
            }
            return Path.of(wdir).resolve(path).normalize().toString();
        }

        /** Everything the stage writes that DVC tracks: outs, metrics and plots. */
        public List<Out> allOuts() {
            List<Out> all = new ArrayList<>(outs);
            all.addAll(metrics);
            all.addAll(plots);
            return all;
        }
    }

    /** An output path and whether DVC keeps it in its cache; {@code options} are its other settings as written. */
    public record Out(String path, boolean cache, Map<String, Object> options) {
        public Out {
            options = options == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
        }
    }

    /**
     * A top-level plot: {@code id} is a file path or a name; {@code options} the plot's settings as written
     * ({@code x}, {@code y} (a field, a list, or a map of file to fields), {@code template}, {@code title}...).
     */
    public record Plot(String id, Map<String, Object> options) {
        public Plot {
            options = options == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
        }
    }

    /** The pipeline of the project in {@code dir}, or empty when there is no dvc.yaml there. */
    public static Optional<DvcPipeline> find(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        return Files.isRegularFile(file) ? Optional.of(read(file)) : Optional.empty();
    }

    /** Reads {@code file}; a mistake is a {@link ConfigException} naming dvc.yaml, its line, the stage and field. */
    public static DvcPipeline read(Path file) {
        return read(file, Map.of());
    }

    /**
     * Reads {@code file} with the params files in {@code paramsTexts} (paths relative to dvc.yaml's folder, or
     * absolute) read from the text given instead of the disk: the pipeline a run sees after its {@code -S} values
     * went into its params.yaml, so {@code ${...}} of those params give the run's values.
     */
    public static DvcPipeline read(Path file, Map<String, String> paramsTexts) {
        return parse(YamlDocument.read(file), paramsTexts);
    }

    public static DvcPipeline parse(Path file, String text) {
        return parse(YamlDocument.parse(file, text), Map.of());
    }

    private static DvcPipeline parse(YamlDocument doc, Map<String, String> paramsTexts) {
        JsonNode root = doc.root();
        if (root.isMissingNode()) {
            return new DvcPipeline(doc.file(), Map.of(), List.of(), List.of());
        }
        if (!root.isObject()) {
            throw doc.error("", "dvc.yaml must be a mapping with 'stages:', found " + YamlDocument.typeName(root));
        }
        doc.requireKnownFields(root, "", TOP_FIELDS);
        Templating t = templating(doc, root, paramsTexts);
        Map<String, Stage> stages = new LinkedHashMap<>();
        JsonNode s = root.path("stages");
        if (!s.isMissingNode() && !s.isNull()) {
            if (!s.isObject()) {
                throw doc.error("stages", "expected a mapping of stage name to stage, found " + YamlDocument.typeName(s));
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                for (Stage stage : stages(doc, t, e.getKey(), e.getValue())) {
                    stages.put(stage.name(), stage);
                }
            }
        }
        List<String> metrics = new ArrayList<>();
        for (Out o : outs(doc, "metrics", top(doc, t, root, "metrics"))) {
            metrics.add(o.path());
        }
        List<Plot> plots = new ArrayList<>();
        for (Out o : outs(doc, "plots", top(doc, t, root, "plots"))) {
            plots.add(new Plot(o.path(), o.options()));
        }
        return new DvcPipeline(doc.file(), stages, metrics, plots);
    }

    /** The stage {@code name}, or a {@link ConfigException} naming the stages there are. */
    public Stage stage(String name) {
        Stage st = stages.get(name);
        if (st == null) {
            String hint = dev.sortie.core.config.Suggest.nearest(name, stages.keySet()).map(n -> "did you mean '" + n + "'? ").orElse("");
            throw new ConfigException(file, 0, null, "no stage '" + name + "'; " + hint
                    + (stages.isEmpty() ? "it declares no stages" : "its stages: " + String.join(", ", stages.keySet())));
        }
        return st;
    }

    /**
     * The metric files of the pipeline relative to dvc.yaml's folder, as {@code dvc metrics show} lists them: the
     * top-level {@code metrics:}, then each stage's, each once.
     */
    public List<String> metricFiles() {
        Set<String> out = new LinkedHashSet<>();
        for (String m : metrics) {
            out.add(Path.of(m).normalize().toString());
        }
        for (Stage st : stages.values()) {
            for (Out m : st.metrics()) {
                out.add(st.resolve(m.path()));
            }
        }
        return List.copyOf(out);
    }

    /**
     * The stage {@code target} and every stage it depends on, in the order {@code dvc repro target} runs them: a
     * stage depends on another when one of its deps is, or is inside, or holds, an out of the other.
     */
    public List<Stage> upstream(String target) {
        List<Stage> order = new ArrayList<>();
        visit(stage(target), order, new LinkedHashSet<>());
        return order;
    }

    private void visit(Stage st, List<Stage> order, Set<String> seen) {
        if (!seen.add(st.name())) {
            return;
        }
        for (String dep : st.deps()) {
            String d = st.resolve(dep);
            for (Stage other : stages.values()) {
                if (other != st && other.allOuts().stream().map(o -> other.resolve(o.path())).anyMatch(o -> overlaps(d, o))) {
                    visit(other, order, seen);
                }
            }
        }
        order.add(st);
    }

    private static boolean overlaps(String a, String b) {
        return a.equals(b) || a.startsWith(b + "/") || b.startsWith(a + "/");
    }

    /** The vars every stage starts from (params.yaml, then the top-level {@code vars:}) and DVC's parsing config. */
    private record Templating(Path dir, DvcVars vars, DvcParsingConfig config) {
    }

    private static Templating templating(YamlDocument doc, JsonNode root, Map<String, String> paramsTexts) {
        Path parent = doc.file().toAbsolutePath().getParent();
        Path dir = parent == null ? Path.of("").toAbsolutePath() : parent;
        Map<Path, String> replaced = new LinkedHashMap<>();
        paramsTexts.forEach((f, text) -> replaced.put(dir.resolve(f).toAbsolutePath().normalize(), text));
        JsonNode topVars = root.path("vars");
        if (DvcInterpolation.isInterpolated(topVars)) {
            throw doc.error("vars", "'vars:' cannot use ${...} (DVC refuses interpolating in 'vars'); write the file names and values as they are");
        }
        DvcVars vars = DvcVars.empty(replaced);
        try {
            vars.loadDefault(dir);
            vars.load(dir, topVars, "");
        } catch (DvcVars.DvcVarsException e) {
            throw doc.error("vars", e.getMessage());
        }
        return new Templating(dir, vars, DvcParsingConfig.of(dir));
    }

    /** A top-level section ({@code metrics:}, {@code plots:}) with its {@code ${...}} filled in. */
    private static JsonNode top(YamlDocument doc, Templating t, JsonNode root, String field) {
        try {
            return DvcInterpolation.resolve(root.path(field), t.vars(), null, t.config());
        } catch (DvcVars.DvcVarsException e) {
            throw doc.error(field, e.getMessage());
        }
    }

    private static List<Stage> stages(YamlDocument doc, Templating t, String name, JsonNode node) {
        String path = "stages." + name;
        if (!node.isObject()) {
            throw doc.error(path, "stage '" + name + "': expected a mapping with 'cmd:', found " + YamlDocument.typeName(node));
        }
        doc.requireKnownFields(node, path, STAGE_FIELDS);
        if (node.has("foreach") || node.has("matrix")) {
            return expanded(doc, t, name, node);
        }
        if (node.has("do")) {
            throw doc.error(path + ".do", "stage '" + name + "': 'do:' goes with 'foreach:'");
        }
        return List.of(resolved(doc, t, t.vars(), name, path, node));
    }

    /**
     * The stage {@code name} of {@code node} with DVC's templating done in {@code vars}: its wdir first (the stage's
     * own {@code vars:} files are relative to it), then its {@code vars:} merged into a copy, then every other field.
     */
    private static Stage resolved(YamlDocument doc, Templating t, DvcVars vars, String name, String path, JsonNode node) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        Path dir = t.dir();
        JsonNode w = node.path("wdir");
        if (w.isTextual()) {
            JsonNode wdir = resolveField(doc, t, vars, name, path, "wdir", w);
            String text = wdir.isTextual() ? wdir.asText() : DvcInterpolation.toStr(wdir, t.config());
            dir = dir.resolve(text);
        }
        JsonNode own = node.path("vars");
        if (!own.isMissingNode()) {
            if (DvcInterpolation.isInterpolated(own)) {
                throw doc.error(path + ".vars", "stage '" + name + "': 'vars:' cannot use ${...} (DVC refuses interpolating in 'vars')");
            }
            vars = vars.copy();
            try {
                vars.load(dir, own, name + ".");
            } catch (DvcVars.DvcVarsException e) {
                throw doc.error(path + ".vars", "stage '" + name + "': " + e.getMessage());
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("vars") && !e.getKey().equals("matrix")) {
                out.set(e.getKey(), resolveField(doc, t, vars, name, path, e.getKey(), e.getValue()));
            }
        }
        return stage(doc, name, path, out);
    }

    private static JsonNode resolveField(YamlDocument doc, Templating t, DvcVars vars, String name, String path, String field, JsonNode value) {
        try {
            return DvcInterpolation.resolve(value, vars, field, t.config());
        } catch (DvcVars.DvcVarsException e) {
            throw doc.error(path + "." + field, "stage '" + name + "': " + e.getMessage());
        }
    }

    /**
     * DVC's foreach and matrix stages. foreach data (a list, a mapping, or a whole-value {@code ${...}} of either):
     * a mapping gives {@code name@key} with {@code ${key}} and {@code ${item}}; a list of plain values
     * {@code name@value}, a list holding any list or mapping {@code name@index}, both with {@code ${item}} only. A
     * matrix gives {@code name@v1-v2} (a list or mapping value is named {@code axisIndex}) with {@code ${item.axis}}
     * and {@code ${key}} the joined name.
     */
    private static List<Stage> expanded(YamlDocument doc, Templating t, String name, JsonNode node) {
        String path = "stages." + name;
        List<Stage> out = new ArrayList<>();
        for (String reserved : List.of("item", "key")) {
            if (t.vars().has(reserved)) {
                // DVC warns the same way: the vars' value is hidden inside this stage
                LOG.log(System.Logger.Level.WARNING, "{0}: ''{1}'' of the vars is overwritten for the stages generated from ''{2}''",
                        doc.file(), reserved, name);
            }
        }
        if (node.has("foreach")) {
            JsonNode body = node.path("do");
            if (!body.isObject()) {
                throw doc.error(path + ".do", "stage '" + name + "': 'foreach:' needs a 'do:' mapping with the stage");
            }
            doc.requireKnownFields(body, path + ".do", STAGE_FIELDS);
            JsonNode each = iteration(doc, t, name, path + ".foreach", node.get("foreach"));
            Map<String, JsonNode> items = new LinkedHashMap<>();
            if (each.isArray()) {
                boolean composite = false;
                for (JsonNode item : each) {
                    composite |= item.isContainerNode();
                }
                for (int i = 0; i < each.size(); i++) {
                    JsonNode item = each.get(i);
                    items.put(composite ? String.valueOf(i) : DvcInterpolation.toStr(item, t.config()), item);
                }
            } else if (each.isObject()) {
                each.fields().forEachRemaining(e -> items.put(e.getKey(), e.getValue()));
            } else {
                throw doc.error(path + ".foreach", "stage '" + name + "': foreach: expected a list or a mapping, found " + YamlDocument.typeName(each));
            }
            for (Map.Entry<String, JsonNode> e : items.entrySet()) {
                Map<String, JsonNode> iteration = new LinkedHashMap<>();
                iteration.put("item", e.getValue());
                if (each.isObject()) {
                    iteration.put("key", TextNode.valueOf(e.getKey()));
                }
                out.add(resolved(doc, t, t.vars().withIteration(iteration), name + "@" + e.getKey(), path + ".do", body));
            }
            return out;
        }
        JsonNode matrix = iteration(doc, t, name, path + ".matrix", node.get("matrix"));
        if (!matrix.isObject()) {
            throw doc.error(path + ".matrix", "stage '" + name + "': expected a mapping of name to a list of values, found " + YamlDocument.typeName(matrix));
        }
        List<Map<String, JsonNode>> combos = new ArrayList<>();
        List<List<String>> names = new ArrayList<>();
        combos.add(new LinkedHashMap<>());
        names.add(List.of());
        for (Iterator<Map.Entry<String, JsonNode>> it = matrix.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> axis = it.next();
            if (!axis.getValue().isArray()) {
                throw doc.error(path + ".matrix." + axis.getKey(), "stage '" + name + "': expected a list of values, found " + YamlDocument.typeName(axis.getValue()));
            }
            List<Map<String, JsonNode>> next = new ArrayList<>();
            List<List<String>> nextNames = new ArrayList<>();
            for (int c = 0; c < combos.size(); c++) {
                for (int i = 0; i < axis.getValue().size(); i++) {
                    JsonNode v = axis.getValue().get(i);
                    Map<String, JsonNode> m = new LinkedHashMap<>(combos.get(c));
                    m.put(axis.getKey(), v);
                    next.add(m);
                    List<String> n = new ArrayList<>(names.get(c));
                    n.add(v.isContainerNode() ? axis.getKey() + i : DvcInterpolation.toStr(v, t.config()));
                    nextNames.add(n);
                }
            }
            combos = next;
            names = nextNames;
        }
        for (int c = 0; c < combos.size(); c++) {
            ObjectNode item = JsonNodeFactory.instance.objectNode();
            combos.get(c).forEach(item::set);
            String key = String.join("-", names.get(c));
            Map<String, JsonNode> iteration = new LinkedHashMap<>();
            iteration.put("key", TextNode.valueOf(key));
            iteration.put("item", item);
            out.add(resolved(doc, t, t.vars().withIteration(iteration), name + "@" + key, path, node));
        }
        return out;
    }

    /** foreach/matrix data with its {@code ${...}} resolved (a whole {@code ${list}} keeps its type). */
    private static JsonNode iteration(YamlDocument doc, Templating t, String name, String path, JsonNode data) {
        try {
            return DvcInterpolation.resolve(data, t.vars(), null, t.config());
        } catch (DvcVars.DvcVarsException e) {
            throw doc.error(path, "stage '" + name + "': " + e.getMessage());
        }
    }

    /** A stage from its fields, already templated. */
    private static Stage stage(YamlDocument doc, String name, String path, JsonNode node) {
        JsonNode cmd = node.path("cmd");
        String command;
        if (cmd.isTextual()) {
            command = cmd.asText();
        } else if (cmd.isArray() && cmd.size() > 0) {
            List<String> lines = new ArrayList<>();
            cmd.forEach(c -> lines.add(c.asText()));
            command = String.join(" && ", lines);
        } else {
            throw doc.error(path + ".cmd", "stage '" + name + "': expected the command (a string or a list of strings), found "
                    + (cmd.isMissingNode() ? "none" : YamlDocument.typeName(cmd)));
        }
        JsonNode w = node.path("wdir");
        if (!w.isMissingNode() && !w.isTextual()) {
            throw doc.error(path + ".wdir", "stage '" + name + "': expected a folder relative to dvc.yaml, found " + YamlDocument.typeName(w));
        }
        String wdir = w.isTextual() ? Path.of(w.asText()).normalize().toString() : ".";
        if (wdir.isEmpty() || Path.of(wdir).isAbsolute() || wdir.startsWith("..")) {
            wdir = wdir.isEmpty() ? "." : wdir;
            if (!wdir.equals(".")) {
                throw doc.error(path + ".wdir", "stage '" + name + "': '" + w.asText() + "' is outside the project; expected a folder inside it");
            }
        }
        List<String> deps = new ArrayList<>();
        for (Out d : outs(doc, path + ".deps", node.path("deps"))) {
            deps.add(d.path());
        }
        List<String> params = params(doc, name, path + ".params", node.path("params"));
        JsonNode frozen = node.path("frozen");
        return new Stage(name, command, wdir, deps, params, outs(doc, path + ".outs", node.path("outs")),
                outs(doc, path + ".metrics", node.path("metrics")), outs(doc, path + ".plots", node.path("plots")),
                frozen.asBoolean(false));
    }

    /** {@code params:}: keys of params.yaml, or {@code {file: [keys]}} (an empty list: the whole file). */
    private static List<String> params(YamlDocument doc, String stage, String path, JsonNode list) {
        List<String> out = new ArrayList<>();
        if (list.isMissingNode() || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            throw doc.error(path, "stage '" + stage + "': expected a list of param keys, found " + YamlDocument.typeName(list));
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode p = list.get(i);
            if (p.isValueNode() && !p.isNull()) {
                out.add(p.asText());
            } else if (p.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = p.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String f = e.getKey();
                    if (e.getValue().isArray() && e.getValue().size() > 0) {
                        e.getValue().forEach(k -> out.add(f + ":" + k.asText()));
                    } else {
                        out.add(f + ":");
                    }
                }
            } else {
                throw doc.error(path + "[" + i + "]", "stage '" + stage + "': expected a param key or {file: [keys]}, found " + YamlDocument.typeName(p));
            }
        }
        return out;
    }

    /** A dvc.yaml list of paths: strings, or one-key mappings {@code {path: {options}}}. */
    private static List<Out> outs(YamlDocument doc, String path, JsonNode list) {
        List<Out> out = new ArrayList<>();
        if (list.isMissingNode() || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            throw doc.error(path, where(path) + "expected a list of paths, found " + YamlDocument.typeName(list));
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            if (item.isTextual()) {
                out.add(new Out(item.asText(), true, Map.of()));
            } else if (item.isObject() && item.size() == 1) {
                Map.Entry<String, JsonNode> e = item.fields().next();
                Map<String, Object> options = new LinkedHashMap<>();
                if (e.getValue().isObject()) {
                    e.getValue().fields().forEachRemaining(o -> options.put(o.getKey(), plain(o.getValue())));
                } else if (!e.getValue().isNull()) {
                    throw doc.error(path + "[" + i + "]", where(path) + "the options of '" + e.getKey() + "' must be a mapping (cache: false, ...), found "
                            + YamlDocument.typeName(e.getValue()));
                }
                boolean cache = !(options.get("cache") instanceof Boolean b) || b;
                out.add(new Out(e.getKey(), cache, options));
            } else {
                throw doc.error(path + "[" + i + "]", where(path) + "expected a path or {path: {options}}, found " + YamlDocument.typeName(item));
            }
        }
        return out;
    }

    private static String where(String path) {
        if (!path.startsWith("stages.")) {
            return "";
        }
        String rest = path.substring("stages.".length());
        int dot = rest.lastIndexOf('.');
        return "stage '" + (dot < 0 ? rest : rest.substring(0, dot).replace(".do", "")) + "': ";
    }

    private static Object plain(JsonNode n) {
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        if (n.isIntegralNumber()) {
            return n.asLong();
        }
        if (n.isNumber()) {
            return n.asDouble();
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            n.forEach(x -> l.add(plain(x)));
            return List.copyOf(l);
        }
        if (n.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            n.fields().forEachRemaining(e -> m.put(e.getKey(), plain(e.getValue())));
            return java.util.Collections.unmodifiableMap(m);
        }
        return null;
    }
}
