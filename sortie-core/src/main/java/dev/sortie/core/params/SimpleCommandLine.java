package dev.sortie.core.params;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Recognises the shell lines that need no shell: words of plain characters, quoted strings and {@code ${param}}
 * placeholders, as in {@code python train.py --lr ${lr} --name "run ${name}"}. Such a line is split here into an
 * argv with the params substituted literally and executed directly, saving a shell process per experiment (which
 * a queue of hundreds of short runs notices). Anything a shell would interpret differently (operators,
 * redirections, globs, other expansions, escapes, assignments, builtins) is not simple, and runs under
 * {@code sh -c} as written.
 */
public final class SimpleCommandLine {
    private static final Set<String> SHELL_WORDS = Set.of("!", ".", ":", "[", "alias", "bg", "break", "builtin", "case", "cd",
            "command", "continue", "do", "done", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc", "fg", "fi",
            "for", "function", "getopts", "hash", "if", "jobs", "kill", "local", "pwd", "read", "readonly", "return", "select",
            "set", "shift", "source", "test", "then", "time", "times", "trap", "true", "type", "ulimit", "umask", "unalias",
            "unset", "until", "wait", "while", "{", "}");

    private SimpleCommandLine() {
    }

    /** The argv of {@code line} with params substituted, or empty when the line needs a shell. */
    public static Optional<List<String>> argv(String line, Params params) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        int i = 0;
        int n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            if (c == ' ' || c == '\t') {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
                i++;
                continue;
            }
            if (word == null) {
                word = new StringBuilder();
            }
            if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0 || !substitute(line.substring(i + 1, end), params, word, true)) {
                    return Optional.empty();
                }
                i = end + 1;
            } else if (c == '"') {
                int end = line.indexOf('"', i + 1);
                if (end < 0 || !substitute(line.substring(i + 1, end), params, word, false)) {
                    return Optional.empty();
                }
                i = end + 1;
            } else if (c == '$') {
                int end = line.indexOf('}', i);
                if (end < 0 || !substitute(line.substring(i, end + 1), params, word, false)) {
                    return Optional.empty();
                }
                i = end + 1;
            } else if (plain(c)) {
                word.append(c);
                i++;
            } else {
                return Optional.empty();
            }
        }
        if (word != null) {
            words.add(word.toString());
        }
        if (words.isEmpty() || SHELL_WORDS.contains(words.get(0)) || words.get(0).contains("=")) {
            return Optional.empty();
        }
        return Optional.of(words);
    }

    /** Appends {@code text} (a quoted string's inside, or one placeholder) with its placeholders replaced; false if a shell is needed. */
    private static boolean substitute(String text, Params params, StringBuilder out, boolean singleQuoted) {
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '$') {
                if (i + 1 >= text.length() || text.charAt(i + 1) != '{') {
                    if (singleQuoted) {
                        out.append(c);
                        i++;
                        continue;
                    }
                    return false;
                }
                int end = text.indexOf('}', i);
                if (end < 0) {
                    return false;
                }
                String key = text.substring(i + 2, end);
                if (!params.has(key)) {
                    if (singleQuoted) {
                        out.append(text, i, end + 1);
                        i = end + 1;
                        continue;
                    }
                    return false;
                }
                out.append(Params.render(params.get(key).orElse(null)));
                i = end + 1;
            } else if (!singleQuoted && (c == '\\' || c == '`')) {
                return false;
            } else {
                out.append(c);
                i++;
            }
        }
        return true;
    }

    private static boolean plain(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '.' || c == '/' || c == '=' || c == ':' || c == ',' || c == '+' || c == '@' || c == '%' || c == '-';
    }
}
