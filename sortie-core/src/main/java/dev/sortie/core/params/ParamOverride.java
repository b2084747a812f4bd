package dev.sortie.core.params;

import java.util.List;
import java.util.Locale;

/**
 * One {@code -S key=value} from the command line. The value is read as a YAML scalar (numbers, booleans,
 * null), except where the param it replaces is a string, so {@code -S version=1.0} stays "1.0".
 * A leading {@code +} ({@code -S +new.key=1}) adds a param that the task does not define yet; without it
 * an unknown key is an error, because a typo would otherwise run an experiment with the default value.
 */
public record ParamOverride(String key, String rawValue, boolean add) {

    public static ParamOverride parse(String text) {
        int eq = text.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("-S '" + text + "': expected key=value, e.g. -S lr=0.1 or -S train.epochs=5");
        }
        String key = text.substring(0, eq).trim();
        boolean add = key.startsWith("+");
        if (add) {
            key = key.substring(1);
        }
        if (key.isEmpty() || key.startsWith(".") || key.endsWith(".") || key.contains("..")) {
            throw new IllegalArgumentException("-S '" + text + "': '" + key + "' is not a param key (use letters, digits, '_', '-' and '.' between nested keys)");
        }
        return new ParamOverride(key, text.substring(eq + 1), add);
    }

    /** Applies overrides in order; unknown keys without '+' fail with the list of params that exist. */
    public static Params apply(Params base, List<ParamOverride> overrides) {
        Params out = base;
        for (ParamOverride o : overrides) {
            if (!o.add() && !out.has(o.key())) {
                String hint = dev.sortie.core.config.Suggest.nearest(o.key(), out.flatten().keySet())
                        .map(s -> "; did you mean '" + s + "'?").orElse("");
                throw new IllegalArgumentException("unknown param '" + o.key() + "' in -S " + o.key() + "=" + o.rawValue() + hint
                        + " (params: " + (base.isEmpty() ? "none defined" : String.join(", ", base.flatten().keySet()))
                        + "; to add a new one write -S +" + o.key() + "=" + o.rawValue() + ")");
            }
            Object current = out.get(o.key()).orElse(null);
            Object value = current instanceof String ? o.rawValue() : scalar(o.rawValue());
            out = out.with(o.key(), value);
        }
        return out;
    }

    /** YAML 1.2 core-schema reading of a scalar: ints, floats, booleans, null; anything else stays a string. */
    public static Object scalar(String s) {
        String t = s.trim();
        switch (t.toLowerCase(Locale.ROOT)) {
            case "true":
                return Boolean.TRUE;
            case "false":
                return Boolean.FALSE;
            case "null":
            case "~":
                return null;
            default:
                break;
        }
        if (t.matches("[-+]?[0-9]+")) {
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException e) {
                return s;
            }
        }
        if (t.matches("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?")) {
            return Double.parseDouble(t);
        }
        return s;
    }
}
