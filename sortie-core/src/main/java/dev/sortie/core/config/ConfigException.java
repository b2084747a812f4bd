package dev.sortie.core.config;

import java.nio.file.Path;

/**
 * Bad configuration, told the way a user can fix it: the file, the line, the field and what would be valid.
 * The CLI exits with code 2 on it.
 */
public class ConfigException extends RuntimeException {
    private final Path file;
    private final int line;
    private final String field;

    public ConfigException(Path file, int line, String field, String message) {
        super(format(file, line, field, message));
        this.file = file;
        this.line = line;
        this.field = field;
    }

    public ConfigException(String message) {
        this(null, 0, null, message);
    }

    private static String format(Path file, int line, String field, String message) {
        StringBuilder sb = new StringBuilder();
        if (file != null) {
            sb.append(file);
            if (line > 0) {
                sb.append(':').append(line);
            }
            sb.append(": ");
        }
        if (field != null && !field.isEmpty()) {
            sb.append('\'').append(field).append("': ");
        }
        return sb.append(message).toString();
    }

    public Path file() {
        return file;
    }

    public int line() {
        return line;
    }

    public String field() {
        return field;
    }
}
