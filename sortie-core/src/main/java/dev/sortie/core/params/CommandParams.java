package dev.sortie.core.params;

import java.util.List;
import java.util.Map;

/**
 * The params of sortie.yaml that a command given after {@code --} takes. That command is not the task's {@code run:}
 * line, so sortie.yaml's params are not its params by default: {@code sortie run -- true} recorded {@code lr=0.1} as
 * if the run had it. A param counts when the command line names it ({@code ${lr}}, {@code ${train}} for all of
 * {@code train.*}, {@code $SORTIE_PARAM_LR}), when {@code -S} sets it, or, for all of them, when the command line
 * names the params file ({@code $SORTIE_PARAMS_FILE}).
 */
public final class CommandParams {
    private CommandParams() {
    }

    public static Params used(Params all, List<String> argv, List<ParamOverride> overrides) {
        String line = String.join("\n", argv);
        if (line.contains("SORTIE_PARAMS_FILE")) {
            return all;
        }
        Params kept = Params.empty();
        for (Map.Entry<String, Object> e : all.flatten().entrySet()) {
            if (named(line, e.getKey()) || overridden(e.getKey(), overrides)) {
                kept = kept.with(e.getKey(), e.getValue());
            }
        }
        return kept;
    }

    private static boolean named(String line, String key) {
        for (String k = key; ; k = k.substring(0, k.lastIndexOf('.'))) {
            if (line.contains("${" + k + "}")) {
                return true;
            }
            if (k.indexOf('.') < 0) {
                break;
            }
        }
        String env = ParamSubstitution.envName(key);
        int at = line.indexOf(env);
        while (at >= 0) {
            int end = at + env.length();
            // SORTIE_PARAM_LR names lr, not lr_decay (SORTIE_PARAM_LR_DECAY)
            if (end == line.length() || !(Character.isLetterOrDigit(line.charAt(end)) || line.charAt(end) == '_')) {
                return true;
            }
            at = line.indexOf(env, at + 1);
        }
        return false;
    }

    private static boolean overridden(String key, List<ParamOverride> overrides) {
        for (ParamOverride o : overrides) {
            if (key.equals(o.key()) || key.startsWith(o.key() + ".")) {
                return true;
            }
        }
        return false;
    }
}
