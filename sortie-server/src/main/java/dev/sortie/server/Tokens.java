package dev.sortie.server;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.ledger.LedgerException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The server's bearer tokens: made here (256 random bits), shown once, kept only as their SHA-256 hash, checked by
 * comparing hashes in constant time ({@link MessageDigest#isEqual}) against every stored one, so neither the
 * comparison nor the lookup tells an attacker how much of a guess was right. A token's text is never logged.
 */
public final class Tokens {
    private static final System.Logger LOG = System.getLogger(Tokens.class.getName());
    static final String PREFIX = "sortie_";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
    /** How stale "last used" may get: a write per request would contend with the ledger's writers for nothing. */
    static final Duration TOUCH_EVERY = Duration.ofMinutes(1);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ServerDatabase db;
    private final Clock clock;

    public Tokens(ServerDatabase db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    /**
     * A token as listed: never its text, which is not kept. {@code experiment}: the one experiment a run's token may
     * report about (null for a user's token).
     */
    public record Token(String name, Instant created, Instant lastUsed, boolean readOnly, String experiment) {
        public Token(String name, Instant created, Instant lastUsed, boolean readOnly) {
            this(name, created, lastUsed, readOnly, null);
        }
    }

    /**
     * Mints the token of one attempt of a run: its agent and its command ({@code SORTIE_TOKEN}) post reports about
     * experiment {@code experimentId} with it and nothing else; it expires after the run ends
     * ({@link #expireRun}). Never a user's token, so a run's host holds no key to the rest of the table.
     */
    public String createRun(String experimentId, int attempt) {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String token = PREFIX + "run_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String name = "run-" + experimentId + "-" + attempt + "-" + HexFormat.of().formatHex(secret, 0, 4);
        run("create the token of run " + experimentId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO server_tokens (name, token_hash, read_only, created_at, last_used_at, experiment_id) VALUES (?, ?, 0, ?, NULL, ?)")) {
                ps.setString(1, name);
                ps.setString(2, HexFormat.of().formatHex(hash(token)));
                ps.setLong(3, clock.millis());
                ps.setString(4, experimentId);
                ps.executeUpdate();
            }
            return null;
        });
        LOG.log(System.Logger.Level.DEBUG, "token {0} minted for run {1}", name, experimentId);
        return token;
    }

    /**
     * The run has ended: its tokens expire {@code grace} from now (the agent's last reports, held back by an outage,
     * still get in; later ones are refused: 401), and tokens of runs whose grace is over are removed.
     */
    public void expireRun(String experimentId, Duration grace) {
        long now = clock.millis();
        run("expire the tokens of run " + experimentId, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE server_tokens SET expires_at = ? WHERE experiment_id = ? AND expires_at IS NULL")) {
                ps.setLong(1, now + grace.toMillis());
                ps.setString(2, experimentId);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM server_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?")) {
                ps.setLong(1, now);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Makes a token named {@code name} and returns its text, the only time it is seen. */
    public String create(String name, boolean readOnly) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ConfigException("--name '" + name + "': a token's name is 1 to 64 of letters, digits, '.', '_', '@' and '-', starting with a letter or digit");
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String token = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        run("create token " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM server_tokens WHERE name = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new ConfigException("a token named '" + name + "' exists; revoke it first ('sortie server token revoke " + name + "') or pick another name");
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO server_tokens (name, token_hash, read_only, created_at, last_used_at) VALUES (?, ?, ?, ?, NULL)")) {
                ps.setString(1, name);
                ps.setString(2, HexFormat.of().formatHex(hash(token)));
                ps.setInt(3, readOnly ? 1 : 0);
                ps.setLong(4, clock.millis());
                ps.executeUpdate();
            }
            return null;
        });
        LOG.log(System.Logger.Level.INFO, "token {0} created ({1})", name, readOnly ? "read-only" : "read-write");
        return token;
    }

    public List<Token> list() {
        return run("list tokens", c -> {
            List<Token> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT name, created_at, last_used_at, read_only FROM server_tokens WHERE experiment_id IS NULL ORDER BY name");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long used = rs.getLong(3);
                    Instant lastUsed = rs.wasNull() ? null : Instant.ofEpochMilli(used);
                    out.add(new Token(rs.getString(1), Instant.ofEpochMilli(rs.getLong(2)), lastUsed, rs.getInt(4) != 0));
                }
            }
            return out;
        });
    }

    /** Removes a token: requests bearing it are refused from now on. False when there is none of that name. */
    public boolean revoke(String name) {
        boolean removed = run("revoke token " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM server_tokens WHERE name = ? AND experiment_id IS NULL")) {
                ps.setString(1, name);
                return ps.executeUpdate() > 0;
            }
        });
        if (removed) {
            LOG.log(System.Logger.Level.INFO, "token {0} revoked", name);
        }
        return removed;
    }

    /** The token a request bears, if it is one of ours. Every stored hash is compared, in constant time each. */
    public Optional<Token> authenticate(String presented) {
        if (presented == null || presented.isEmpty() || presented.length() > 256) {
            return Optional.empty();
        }
        byte[] h = hash(presented);
        Optional<Token> found = run("check a token", c -> {
            Token match = null;
            Long lastUsed = null;
            try (PreparedStatement ps = c.prepareStatement("SELECT name, token_hash, created_at, last_used_at, read_only, experiment_id, expires_at FROM server_tokens");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byte[] stored = HexFormat.of().parseHex(rs.getString(2));
                    long used = rs.getLong(4);
                    Long usedAt = rs.wasNull() ? null : used;
                    long expires = rs.getLong(7);
                    boolean expired = !rs.wasNull() && expires <= clock.millis();
                    if (MessageDigest.isEqual(stored, h) && match == null && !expired) {
                        match = new Token(rs.getString(1), Instant.ofEpochMilli(rs.getLong(3)), usedAt == null ? null : Instant.ofEpochMilli(usedAt),
                                rs.getInt(5) != 0, rs.getString(6));
                        lastUsed = usedAt;
                    }
                }
            }
            if (match != null && (lastUsed == null || clock.millis() - lastUsed >= TOUCH_EVERY.toMillis())) {
                try (PreparedStatement ps = c.prepareStatement("UPDATE server_tokens SET last_used_at = ? WHERE name = ?")) {
                    ps.setLong(1, clock.millis());
                    ps.setString(2, match.name());
                    ps.executeUpdate();
                }
            }
            return Optional.ofNullable(match);
        });
        return found;
    }

    static byte[] hash(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T run(String what, Work<T> work) {
        try (Connection c = db.connection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw new LedgerException("cannot " + what + " in " + db.where() + ": " + e.getMessage(), e);
        }
    }
}
