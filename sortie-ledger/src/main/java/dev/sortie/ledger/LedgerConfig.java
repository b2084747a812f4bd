package dev.sortie.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.YamlDocument;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which ledger a project uses: the {@code SORTIE_LEDGER} environment variable, else the {@code ledger:} setting of the
 * project's {@code .sortie/config.yaml}, else the user's config (the first found wins). Absent or {@code local}: the
 * project's own SQLite file, {@code .sortie/ledger.db}, as always; otherwise a PostgreSQL URL ({@link PostgresUrl}).
 */
public final class LedgerConfig {
    public static final String FIELD = "ledger";
    public static final String ENV = "SORTIE_LEDGER";
    public static final String LOCAL = "local";
    private static final String VALID = "valid: local (the project's .sortie/ledger.db) or " + PostgresUrl.FORM;

    private LedgerConfig() {
    }

    /**
     * The PostgreSQL database configured, or empty for the local SQLite file.
     *
     * @param files config files in the order they apply, the last winning (missing ones are skipped)
     * @throws ConfigException naming the variable, or the file, line and field, and what would be valid
     */
    public static Optional<PostgresUrl> read(Map<String, String> env, List<Path> files) {
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return parse(fromEnv, message -> new ConfigException(ENV + " (environment): " + message));
        }
        Optional<PostgresUrl> found = Optional.empty();
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                continue;
            }
            YamlDocument doc = YamlDocument.read(f);
            JsonNode root = doc.root();
            if (!root.isObject() || !root.has(FIELD)) {
                continue;
            }
            JsonNode node = root.get(FIELD);
            if (node.isNull()) {
                found = Optional.empty();
                continue;
            }
            if (!node.isTextual()) {
                throw doc.error(FIELD, "expected a URL, not " + YamlDocument.typeName(node) + "; " + VALID);
            }
            found = parse(node.asText(), message -> doc.error(FIELD, message));
        }
        return found;
    }

    private static Optional<PostgresUrl> parse(String text, java.util.function.Function<String, ConfigException> error) {
        String t = text.trim();
        if (t.isEmpty() || t.equals(LOCAL)) {
            return Optional.empty();
        }
        if (!PostgresUrl.isPostgres(t)) {
            // only the scheme of a URL: the rest may hold a password
            String scheme = t.contains("://") ? "'" + t.substring(0, t.indexOf("://") + 3) + "' URLs are not a ledger"
                    : "'" + t + "' is not a ledger URL";
            throw error.apply(scheme + "; " + VALID);
        }
        try {
            return Optional.of(PostgresUrl.parse(t));
        } catch (IllegalArgumentException e) {
            // the message never holds the password (PostgresUrl.parse); the text itself may, so it is not repeated
            throw error.apply("bad PostgreSQL URL: " + e.getMessage());
        }
    }
}
