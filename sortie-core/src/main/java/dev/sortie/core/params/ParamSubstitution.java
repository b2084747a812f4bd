package dev.sortie.core.params;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Puts params into commands without ever letting a value become shell code.
 *
 * <p>For an argv (given after {@code --}) values are substituted literally: there is no shell to interpret them.
 * For a shell line ({@code run:} in sortie.yaml) each {@code ${key}} is rewritten into a reference to the
 * environment variable that holds the value, quoted for the context it appears in. The shell expands a
 * quoted variable to its exact bytes and never evaluates them, so {@code $(...)}, backticks, quotes and
 * newlines in a value reach the program as text.
 */
public final class ParamSubstitution {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_.\\-]+)}");
    public static final String ENV_PREFIX = "SORTIE_PARAM_";

    private ParamSubstitution() {
    }

    /** The environment variable that carries a param: {@code train.lr -> SORTIE_PARAM_TRAIN_LR}. */
    public static String envName(String dottedKey) {
        return ENV_PREFIX + dottedKey.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /** Every leaf param as an environment variable. */
    public static Map<String, String> environment(Params params) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : params.flatten().entrySet()) {
            env.put(envName(e.getKey()), Params.render(e.getValue()));
        }
        return env;
    }

    /**
     * Literal substitution into an argv; placeholders that name no param are left as written. The one exception is
     * a script handed to a shell ({@code sh -c SCRIPT}, bash, dash, zsh, ksh, flags like {@code -ec} included): it is
     * shell code, so its placeholders become quoted variable references as in {@link #shell}, never spliced text.
     */
    public static List<String> argv(List<String> argv, Params params) {
        List<String> out = new ArrayList<>(argv.size());
        int script = shellScriptIndex(argv);
        for (int i = 0; i < argv.size(); i++) {
            String arg = argv.get(i);
            if (i == script) {
                out.add(shell(arg, params));
                continue;
            }
            Matcher m = PLACEHOLDER.matcher(arg);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String key = m.group(1);
                String replacement = params.has(key) ? Params.render(params.get(key).orElse(null)) : m.group();
                m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
            }
            m.appendTail(sb);
            out.add(sb.toString());
        }
        return out;
    }

    private static final java.util.Set<String> SHELLS = java.util.Set.of("sh", "bash", "dash", "zsh", "ksh", "ash", "mksh");

    /** The index of the script in {@code sh [flags] -c SCRIPT ...}, or -1 when the argv does not start a shell script. */
    static int shellScriptIndex(List<String> argv) {
        if (argv.isEmpty()) {
            return -1;
        }
        String program = argv.get(0).substring(argv.get(0).lastIndexOf('/') + 1);
        if (!SHELLS.contains(program)) {
            return -1;
        }
        for (int i = 1; i < argv.size() - 1; i++) {
            String a = argv.get(i);
            if (a.equals("-o") || a.equals("+o") || a.equals("-O") || a.equals("+O")) {
                i++; // an option name follows (bash -o pipefail -c ...)
                continue;
            }
            if (!a.startsWith("-") && !a.startsWith("+")) {
                return -1; // a script file: its arguments are plain arguments
            }
            if (a.startsWith("-") && !a.startsWith("--") && a.indexOf('c') > 0) {
                return i + 1;
            }
        }
        return -1;
    }

    /**
     * Rewrites {@code ${key}} placeholders of a POSIX shell line into quoted references to
     * {@link #envName(String)}; placeholders that name no param are left for the shell (e.g. {@code ${HOME}}).
     */
    public static String shell(String line, Params params) {
        StringBuilder out = new StringBuilder(line.length() + 32);
        Quote quote = Quote.NONE;
        int i = 0;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (quote != Quote.SINGLE && c == '\\' && i + 1 < line.length()) {
                out.append(c).append(line.charAt(i + 1));
                i += 2;
                continue;
            }
            if (c == '$' && i + 1 < line.length() && line.charAt(i + 1) == '{') {
                Matcher m = PLACEHOLDER.matcher(line).region(i, line.length());
                if (m.lookingAt() && params.has(m.group(1))) {
                    String var = "${" + envName(m.group(1)) + "}";
                    switch (quote) {
                        case NONE -> out.append('"').append(var).append('"');
                        case DOUBLE -> out.append(var);
                        case SINGLE -> out.append("'\"").append(var).append("\"'");
                    }
                    i = m.end();
                    continue;
                }
            }
            if (c == '\'' && quote != Quote.DOUBLE) {
                quote = quote == Quote.SINGLE ? Quote.NONE : Quote.SINGLE;
            } else if (c == '"' && quote != Quote.SINGLE) {
                quote = quote == Quote.DOUBLE ? Quote.NONE : Quote.DOUBLE;
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    /** Param keys a command refers to that are not defined: a typo in {@code ${lr}} is caught before the run. */
    public static List<String> unknownPlaceholders(String text, Params params, Map<String, String> environment) {
        List<String> unknown = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(text);
        while (m.find()) {
            String key = m.group(1);
            if (!params.has(key) && !environment.containsKey(key)) {
                unknown.add(key);
            }
        }
        return unknown;
    }

    private enum Quote { NONE, SINGLE, DOUBLE }
}
