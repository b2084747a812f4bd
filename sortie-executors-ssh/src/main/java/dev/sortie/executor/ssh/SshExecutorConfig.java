package dev.sortie.executor.ssh;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.Suggest;
import dev.sortie.core.config.Units;
import dev.sortie.executor.remote.host.RemoteLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.sshd.client.config.hosts.ConfigFileHostEntryResolver;
import org.apache.sshd.client.config.hosts.HostConfigEntry;

/**
 * The options of an {@code ssh} executor, validated when the executor is configured:
 *
 * <pre>
 * executors:
 *   gpu1: {type: ssh, host: gpu1}                 # a Host alias of ~/.ssh/config, or a host name / address
 *   lab:  {type: ssh, host: 10.0.0.7, port: 2222, user: me, identity: ~/.ssh/lab_ed25519}
 * </pre>
 *
 * Options given here win over the ssh config's, which win over the defaults (port 22, the local user name, the
 * default identities), the way {@code ssh -p PORT -l USER -i KEY host} works.
 *
 * @param port  the port, or null to take the ssh config's (else 22)
 * @param user  the remote user, or null to take the ssh config's (else the local user)
 * @param identity a private key, or null to take the ssh config's IdentityFile (else the default identities)
 * @param acceptNewHostKey trust a host key seen for the first time and append it to known_hosts (like
 *                         {@code StrictHostKeyChecking=accept-new}); a changed key is refused regardless
 * @param remoteDir where Sortie keeps its agent, node-local cache, store and runs on the host ({@code ~/...} or absolute)
 * @param lostAfter how long the host may not answer before its runs are declared lost
 */
public record SshExecutorConfig(
        String name,
        String host,
        Integer port,
        String user,
        String identity,
        boolean acceptNewHostKey,
        Duration connectTimeout,
        Duration keepalive,
        String remoteDir,
        Duration lostAfter) {

    public static final List<String> FIELDS = List.of(
            "type", "host", "port", "user", "identity", "accept_new_host_key", "connect_timeout", "keepalive",
            "remote_dir", "lost_after");
    /** Where Sortie keeps its things on the host (agent, cache, store, runs); {@code ~} is the remote user's home. */
    public static final String DEFAULT_REMOTE_DIR = RemoteLayout.DEFAULT_ROOT;
    /** A host that does not answer for this long is lost: its runs are marked interrupted and re-queued per the retry policy. */
    public static final Duration DEFAULT_LOST_AFTER = Duration.ofMinutes(5);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(15);
    public static final Duration DEFAULT_KEEPALIVE = Duration.ofSeconds(15);

    /** Reads and validates an executor's options; every mistake names the field and what would be valid. */
    public static SshExecutorConfig fromOptions(String name, JsonNode options) {
        String where = "executors." + name;
        if (options == null || !options.isObject()) {
            throw new ConfigException(null, 0, where, "an ssh executor needs options, at least 'host:', e.g. {type: ssh, host: gpu1}");
        }
        Iterator<String> names = options.fieldNames();
        while (names.hasNext()) {
            String n = names.next();
            if (!FIELDS.contains(n)) {
                String hint = Suggest.nearest(n, FIELDS).map(s -> "did you mean '" + s + "'? ").orElse("");
                throw new ConfigException(null, 0, where + "." + n, "unknown field; " + hint + "valid fields of an ssh executor: "
                        + String.join(", ", FIELDS.subList(1, FIELDS.size())));
            }
        }
        String host = text(options, where, "host", true);
        if (host.isBlank() || host.chars().anyMatch(c -> Character.isWhitespace(c) || c == '@' || c == '/')) {
            throw new ConfigException(null, 0, where + ".host", "'" + host + "' is not a host: give a host name, an address, or a Host alias"
                    + " of ~/.ssh/config (no spaces, '@' or '/'; put the user in 'user:' and the port in 'port:')");
        }
        if (host.startsWith("-")) {
            throw new ConfigException(null, 0, where + ".host", "'" + host + "' is not a host: it cannot start with '-'");
        }
        Integer port = null;
        JsonNode p = options.get("port");
        if (p != null && !p.isNull()) {
            int v;
            if (p.isInt()) {
                v = p.intValue();
            } else if (p.isTextual() && p.asText().trim().matches("\\d{1,5}")) {
                v = Integer.parseInt(p.asText().trim());
            } else {
                throw new ConfigException(null, 0, where + ".port", "expected a port number from 1 to 65535, got " + p);
            }
            if (v < 1 || v > 65535) {
                throw new ConfigException(null, 0, where + ".port", "expected a port number from 1 to 65535, got " + v);
            }
            port = v;
        }
        String user = text(options, where, "user", false);
        if (user != null && (user.isBlank() || user.chars().anyMatch(c -> Character.isWhitespace(c) || c == '@' || c == ':'))) {
            throw new ConfigException(null, 0, where + ".user", "'" + user + "' is not a user name (no spaces, '@' or ':')");
        }
        String identity = text(options, where, "identity", false);
        if (identity != null && identity.isBlank()) {
            throw new ConfigException(null, 0, where + ".identity", "expected the path of a private key, e.g. ~/.ssh/id_ed25519");
        }
        boolean acceptNew = false;
        JsonNode a = options.get("accept_new_host_key");
        if (a != null && !a.isNull()) {
            if (!a.isBoolean()) {
                throw new ConfigException(null, 0, where + ".accept_new_host_key", "expected true or false, got " + a);
            }
            acceptNew = a.booleanValue();
        }
        Duration connectTimeout = duration(options, where, "connect_timeout", DEFAULT_CONNECT_TIMEOUT, false);
        Duration keepalive = duration(options, where, "keepalive", DEFAULT_KEEPALIVE, true);
        String remoteDir = text(options, where, "remote_dir", false);
        if (remoteDir == null) {
            remoteDir = DEFAULT_REMOTE_DIR;
        } else if (!(remoteDir.startsWith("/") || remoteDir.equals("~") || remoteDir.startsWith("~/")) || remoteDir.contains("\n")
                || remoteDir.contains("\0")) {
            throw new ConfigException(null, 0, where + ".remote_dir", "expected an absolute path or one under ~/ on the host, got '"
                    + remoteDir + "'");
        }
        Duration lostAfter = duration(options, where, "lost_after", DEFAULT_LOST_AFTER, false);
        return new SshExecutorConfig(name, host, port, user, identity, acceptNew, connectTimeout, keepalive, remoteDir, lostAfter);
    }

    /** The same executor, with the host key opt-in set (for {@code sortie executor test --accept-new-host-key}). */
    public SshExecutorConfig withAcceptNewHostKey(boolean accept) {
        return new SshExecutorConfig(name, host, port, user, identity, accept, connectTimeout, keepalive, remoteDir, lostAfter);
    }

    /**
     * Combines these options with the ssh config ({@code Host} blocks matching {@link #host}: HostName, Port, User,
     * IdentityFile, ProxyJump), read with MINA SSHD's OpenSSH config support.
     */
    public SshTarget resolve(SshPaths paths) {
        HostConfigEntry entry = null;
        if (paths.configFile() != null && Files.isRegularFile(paths.configFile())) {
            try {
                entry = new ConfigFileHostEntryResolver(paths.configFile())
                        .resolveEffectiveHost(host, port == null ? 0 : port, null, user, null, null);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the ssh config " + paths.configFile() + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                throw new ConfigException(paths.configFile(), 0, null, "cannot use the ssh config for host '" + host + "': " + e.getMessage());
            }
        }
        String hostName = host;
        int effectivePort = 22;
        String effectiveUser = paths.localUser();
        String proxyJump = null;
        List<Path> identities = new ArrayList<>();
        if (entry != null) {
            if (entry.getHostName() != null && !entry.getHostName().isBlank()) {
                hostName = entry.getHostName();
            }
            if (entry.getPort() > 0) {
                effectivePort = entry.getPort();
            }
            if (entry.getUsername() != null && !entry.getUsername().isBlank()) {
                effectiveUser = entry.getUsername();
            }
            String pj = entry.getProxyJump();
            if (pj != null && !pj.isBlank() && !pj.equalsIgnoreCase("none")) {
                proxyJump = pj.trim();
            }
            for (String id : entry.getIdentities()) {
                identities.add(paths.expand(id));
            }
        }
        if (port != null) {
            effectivePort = port;
        }
        if (user != null) {
            effectiveUser = user;
        }
        if (identity != null) {
            identities = new ArrayList<>(List.of(paths.expand(identity)));
        }
        if (identities.isEmpty() && paths.sshDir() != null) {
            for (String n : SshPaths.DEFAULT_IDENTITIES) {
                Path k = paths.sshDir().resolve(n);
                if (Files.isRegularFile(k)) {
                    identities.add(k);
                }
            }
        }
        return new SshTarget(host, hostName, effectivePort, effectiveUser, identities, proxyJump);
    }

    private static String text(JsonNode options, String where, String field, boolean required) {
        JsonNode n = options.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                throw new ConfigException(null, 0, where + "." + field, "required: the host name, address or ~/.ssh/config Host alias to connect to");
            }
            return null;
        }
        if (!n.isTextual() && !n.isNumber()) {
            throw new ConfigException(null, 0, where + "." + field, "expected a string, got " + n);
        }
        return n.asText().trim();
    }

    private static Duration duration(JsonNode options, String where, String field, Duration dflt, boolean zeroOk) {
        JsonNode n = options.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        Duration d;
        try {
            d = Units.duration(n.asText());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(null, 0, where + "." + field, e.getMessage());
        }
        if (d.isNegative() || (!zeroOk && d.isZero())) {
            throw new ConfigException(null, 0, where + "." + field, "expected a positive duration, e.g. 15s");
        }
        return d;
    }
}
