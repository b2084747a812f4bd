package dev.sortie.core.dvc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * DVC's {@code [parsing]} config, which says how a mapping in {@code cmd} is unpacked: {@code bool =
 * boolean_optional} writes {@code --no-flag} for false (default {@code store_true}: nothing), {@code list = append}
 * repeats {@code --flag} per item (default {@code nargs}: {@code --flag a b}). Read from the project's
 * {@code .dvc/config}, then {@code .dvc/config.local}, as DVC layers them.
 */
record DvcParsingConfig(boolean booleanOptional, boolean listAppend) {
    static final DvcParsingConfig DEFAULT = new DvcParsingConfig(false, false);

    /** The config of the DVC project holding {@code dir} (the nearest folder up with a {@code .dvc}), or DVC's defaults. */
    static DvcParsingConfig of(Path dir) {
        for (Path d = dir.toAbsolutePath().normalize(); d != null; d = d.getParent()) {
            Path dvc = d.resolve(".dvc");
            if (Files.isDirectory(dvc)) {
                DvcParsingConfig c = DEFAULT;
                c = c.readInto(dvc.resolve("config"));
                return c.readInto(dvc.resolve("config.local"));
            }
        }
        return DEFAULT;
    }

    private DvcParsingConfig readInto(Path file) {
        if (!Files.isRegularFile(file)) {
            return this;
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read DVC's config " + file, e);
        }
        boolean inParsing = false;
        boolean bool = booleanOptional;
        boolean list = listAppend;
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.startsWith("[")) {
                inParsing = line.replace(" ", "").equalsIgnoreCase("[parsing]");
                continue;
            }
            int eq = line.indexOf('=');
            if (!inParsing || eq < 0 || line.startsWith("#")) {
                continue;
            }
            String key = line.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            String value = line.substring(eq + 1).strip().replace("'", "").replace("\"", "");
            if (key.equals("bool")) {
                bool = value.equals("boolean_optional");
            } else if (key.equals("list")) {
                list = value.equals("append");
            }
        }
        return new DvcParsingConfig(bool, list);
    }
}
