package dev.sortie.sdk;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code sortie track open}: how a run outside {@code sortie run} gets an experiment of its own (sdk/PROTOCOL.md,
 * "Tracking outside a scheduled run").
 */
final class TrackOpen {
    static final long TIMEOUT_SECONDS = 300;

    /** What {@code sortie track open} printed. */
    record Info(String id, String name, Path eventsFile, Path artifactDir) {
    }

    private TrackOpen() {
    }

    /**
     * Runs {@code sortie track open --pid PID [--name N] [--params JSON]} in {@code workingDir} with environment
     * {@code env}, and reads the JSON object it prints.
     */
    static Info open(Map<String, String> env, Path workingDir, String name, String paramsJson) {
        List<String> cmd = new ArrayList<>(sortieCommand(env));
        cmd.add("track");
        cmd.add("open");
        cmd.add("--pid");
        cmd.add(Long.toString(ProcessHandle.current().pid()));
        if (name != null) {
            cmd.add("--name");
            cmd.add(name);
        }
        if (paramsJson != null) {
            cmd.add("--params");
            cmd.add(paramsJson);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workingDir.toFile());
        pb.environment().clear(); // the environment given (the real one, except in tests)
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new SortieException("sortie: cannot run " + cmd.get(0) + ": " + e.getMessage()
                    + " (check SORTIE_BIN or PATH)", e);
        }
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        Thread outReader = drain(p.getInputStream(), stdout, "sortie-track-open-stdout");
        Thread errReader = drain(p.getErrorStream(), stderr, "sortie-track-open-stderr");
        int exit;
        try {
            p.getOutputStream().close(); // no input
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new SortieException("sortie: `" + String.join(" ", cmd) + "` did not answer in "
                        + TIMEOUT_SECONDS + " s");
            }
            exit = p.exitValue();
            // Its output is complete when it has exited; a process it left behind holding the pipes open must not
            // keep us waiting.
            outReader.join(2000);
            errReader.join(2000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new SortieException("sortie: interrupted while waiting for `sortie track open`", e);
        } catch (IOException e) {
            throw new SortieException("sortie: `sortie track open`: " + e.getMessage(), e);
        }
        String out = text(stdout);
        String err = text(stderr).strip();
        if (exit != 0) {
            throw new SortieException("sortie: `sortie track open` failed (exit " + exit + ")"
                    + (err.isEmpty() ? "" : ": " + err));
        }
        return parse(out, err);
    }

    static Info parse(String out, String err) {
        String last = null;
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                last = line.strip();
            }
        }
        String why;
        try {
            if (last == null) {
                why = "no output";
            } else if (!(Json.parse(last) instanceof Map<?, ?> m)) {
                why = "not a JSON object";
            } else if (!(m.get("events_file") instanceof String events) || events.isEmpty()) {
                why = "no events_file";
            } else {
                Object dir = m.get("artifact_dir");
                return new Info(string(m.get("id")), string(m.get("name")), Path.of(events).toAbsolutePath(),
                        dir instanceof String s && !s.isEmpty() ? Path.of(s).toAbsolutePath() : null);
            }
        } catch (IllegalArgumentException e) {
            why = e.getMessage();
        }
        String shown = out.length() > 500 ? out.substring(0, 500) + "..." : out;
        throw new SortieException("sortie: `sortie track open` printed no usable JSON (" + why + "): \""
                + shown.strip() + "\"" + (err.isEmpty() ? "" : "; stderr: " + err));
    }

    private static String string(Object v) {
        return v == null ? null : v.toString();
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    private static Thread drain(InputStream in, ByteArrayOutputStream into, String name) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (into) {
                        into.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process is gone; what was read is kept
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    // ------------------------------------------------------------------------------------------------------
    // Which command is `sortie`

    /** {@code $SORTIE_BIN} (a command line), else {@code sortie} on {@code PATH}. */
    static List<String> sortieCommand(Map<String, String> env) {
        String configured = env.get("SORTIE_BIN");
        if (configured != null && !configured.isBlank()) {
            List<String> words = splitCommandLine(configured);
            if (!words.isEmpty()) {
                return words;
            }
        }
        Path found = onPath("sortie", env.get("PATH"));
        if (found != null) {
            return List.of(found.toString());
        }
        throw new SortieException("sortie: the `sortie` command was not found, and a run outside `sortie run` needs "
                + "it to create a tracked experiment. Install Sortie and put `sortie` on PATH (in a Sortie checkout: "
                + "`mvn -q -DskipTests package`, then `ln -s \"$PWD/sortie\" ~/.local/bin/sortie`), or set SORTIE_BIN "
                + "to the command line that runs it.");
    }

    static Path onPath(String command, String path) {
        if (path == null || path.isEmpty()) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            try {
                Path candidate = Path.of(dir, command);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return candidate.toAbsolutePath();
                }
            } catch (RuntimeException badEntry) {
                // an entry that is not a path: skipped
            }
        }
        return null;
    }

    /**
     * Splits a command line into words as a POSIX shell would, without expanding anything: spaces separate
     * words, {@code '...'} is literal, {@code "..."} groups with {@code \"} and {@code \\} escaped, and a
     * backslash outside quotes escapes the next character.
     *
     * @throws SortieException for an unterminated quote
     */
    static List<String> splitCommandLine(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        int n = line.length();
        for (int i = 0; i < n; i++) {
            char c = line.charAt(i);
            if (quote == '\'') {
                if (c == '\'') {
                    quote = 0;
                } else {
                    word.append(c);
                }
            } else if (quote == '"') {
                if (c == '"') {
                    quote = 0;
                } else if (c == '\\' && i + 1 < n && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) {
                    word.append(line.charAt(++i));
                } else {
                    word.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                inWord = true;
            } else if (c == '\\' && i + 1 < n) {
                word.append(line.charAt(++i));
                inWord = true;
            } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (quote != 0) {
            throw new SortieException("sortie: SORTIE_BIN has an unterminated " + (quote == '\'' ? "single" : "double")
                    + " quote: " + line);
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }
}
