package dev.sortie.ledger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The password for a PostgreSQL ledger, found where libpq looks, in its order: the URL, the {@code PGPASSWORD}
 * environment variable, then the password file ({@code PGPASSFILE}, else {@code ~/.pgpass}; lines
 * {@code host:port:database:user:password}, {@code *} matching anything, {@code \:} and {@code \\} escaped; as libpq
 * does, a file that others can read is ignored, with a warning). Nothing else: a password is never read from
 * Sortie's config files, and never logged.
 */
final class PgPassword {
    private static final System.Logger LOG = System.getLogger(PgPassword.class.getName());

    private PgPassword() {
    }

    static Optional<String> find(PostgresUrl url, Map<String, String> env, Path home) {
        if (url.password() != null) {
            return Optional.of(url.password());
        }
        String fromEnv = env.get("PGPASSWORD");
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return Optional.of(fromEnv);
        }
        String passFile = env.get("PGPASSFILE");
        Path file = passFile != null && !passFile.isEmpty() ? Path.of(passFile) : home == null ? null : home.resolve(".pgpass");
        return file == null ? Optional.empty() : fromFile(file, url);
    }

    static Optional<String> fromFile(Path file, PostgresUrl url) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_"))) {
                LOG.log(System.Logger.Level.WARNING, "the password file {0} is ignored: others can read it (chmod 0600 {0})", file);
                return Optional.empty();
            }
        } catch (UnsupportedOperationException | IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the permissions of {0} could not be read: {1}", file, e.getMessage());
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "the password file {0} cannot be read: {1}", file, e.getMessage());
            return Optional.empty();
        }
        String[] wanted = {url.host(), Integer.toString(url.port()), url.database(), url.user()};
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            List<String> fields = fields(line);
            if (fields.size() < 5) {
                continue; // libpq skips a line it cannot read; so does this (its text may be a password)
            }
            boolean match = true;
            for (int i = 0; i < 4 && match; i++) {
                match = fields.get(i).equals("*") || fields.get(i).equals(wanted[i]);
            }
            if (match) {
                return Optional.of(fields.get(4));
            }
        }
        return Optional.empty();
    }

    /** The ':'-separated fields of a line, with its backslash escapes undone; the last field takes the rest. */
    private static List<String> fields(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (ch == '\\' && i + 1 < line.length()) {
                field.append(line.charAt(++i));
            } else if (ch == ':' && out.size() < 4) {
                out.add(field.toString());
                field.setLength(0);
            } else {
                field.append(ch);
            }
        }
        out.add(field.toString());
        return out;
    }
}
