package dev.sortie.executor.ssh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.Suggest;
import dev.sortie.core.executor.ExecutorSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The options of a {@code pool} executor: several ssh hosts that look like one executor, each run taking one free
 * slot on one of them.
 *
 * <pre>
 * executors:
 *   gpu1: {type: ssh, host: gpu1.example.org}
 *   gpus:
 *     type: pool
 *     hosts: [gpu1, {host: 10.0.0.8, user: me}]  # ssh executors of the same config by name, or inline ssh settings
 *     slots: 2                                  # runs per host; default: one per GPU, 1 when the host has none
 *     gpus_per_slot: 1                          # GPUs each run gets (CUDA_VISIBLE_DEVICES)
 *     remote_dir: /scratch/sortie               # any ssh field here is a default for the inline hosts
 * </pre>
 *
 * @param hosts       the members, in config order
 * @param slots       runs per host, or null for one per GPU (1 when the host has none)
 * @param gpusPerSlot GPUs per slot, or null for the default (1, or the host's GPUs divided evenly over {@code slots})
 */
public record PoolExecutorConfig(String name, List<Host> hosts, Integer slots, Integer gpusPerSlot) {

    /** The ssh fields a pool may set as defaults for its inline hosts. */
    public static final List<String> HOST_DEFAULTS = SshExecutorConfig.FIELDS.stream()
            .filter(f -> !f.equals("type") && !f.equals("host")).toList();
    public static final List<String> FIELDS;
    /** What an inline host may set: the ssh executor's fields. */
    public static final List<String> HOST_FIELDS = SshExecutorConfig.FIELDS.stream().filter(f -> !f.equals("type")).toList();
    static final int MAX_SLOTS = 1024;

    static {
        List<String> f = new ArrayList<>(List.of("type", "hosts", "slots", "gpus_per_slot"));
        f.addAll(HOST_DEFAULTS);
        FIELDS = List.copyOf(f);
    }

    public PoolExecutorConfig {
        Objects.requireNonNull(name, "name");
        hosts = List.copyOf(hosts);
    }

    /**
     * One host of the pool.
     *
     * @param ssh   its ssh settings: a named host's are its executor's (with its name), an inline one's are named
     *              {@code POOL.hosts[i]} and take the pool's defaults
     * @param named whether it is an ssh executor of the config, listed by name
     */
    public record Host(SshExecutorConfig ssh, boolean named) {
        public Host {
            Objects.requireNonNull(ssh, "ssh");
        }

        /** What the host is called in messages: its executor's name, or for an inline host its host (and port). */
        public String displayName() {
            if (named) {
                return ssh.name();
            }
            return ssh.port() == null ? ssh.host() : ssh.host() + ":" + ssh.port();
        }
    }

    /**
     * Reads and validates a pool's options; every mistake names the field and what would be valid.
     *
     * @param executors the executors configured beside the pool, by name (what {@code hosts:} names resolve against)
     */
    public static PoolExecutorConfig fromOptions(String name, JsonNode options, Map<String, ExecutorSpec> executors) {
        String where = "executors." + name;
        if (executors == null) {
            executors = Map.of();
        }
        if (options == null || !options.isObject()) {
            throw new ConfigException(null, 0, where, "a pool needs options, at least 'hosts:', e.g. {type: pool, hosts: [gpu1, gpu2]}");
        }
        Iterator<String> names = options.fieldNames();
        while (names.hasNext()) {
            String n = names.next();
            if (!FIELDS.contains(n)) {
                String hint = Suggest.nearest(n, FIELDS).map(s -> "did you mean '" + s + "'? ").orElse("");
                throw new ConfigException(null, 0, where + "." + n, "unknown field; " + hint + "valid fields of a pool: "
                        + String.join(", ", FIELDS.subList(1, FIELDS.size())));
            }
        }
        Integer slots = count(options, where, "slots",
                "expected a number of runs per host from 1 to " + MAX_SLOTS + ", e.g. slots: 2 (default: one per GPU of the host, 1 when it has none)");
        Integer gpusPerSlot = count(options, where, "gpus_per_slot",
                "expected a number of GPUs per run from 1 to " + MAX_SLOTS + ", e.g. gpus_per_slot: 2 (default: 1)");

        // The defaults for inline hosts, checked once on their own so a mistake is reported where it is written.
        ObjectNode defaults = JsonNodeFactory.instance.objectNode();
        for (String f : HOST_DEFAULTS) {
            if (options.has(f)) {
                defaults.set(f, options.get(f));
            }
        }
        ObjectNode check = defaults.deepCopy();
        check.put("host", "pool-defaults");
        SshExecutorConfig.fromOptions(name, check);

        JsonNode list = options.get("hosts");
        if (list == null || list.isNull()) {
            throw new ConfigException(null, 0, where + ".hosts", "required: the pool's hosts, names of ssh executors of this config"
                    + " or inline ssh settings, e.g. hosts: [gpu1, gpu2] or hosts: [{host: 10.0.0.7}, {host: 10.0.0.8, port: 2222}]"
                    + sshNames(executors));
        }
        if (!list.isArray() || list.isEmpty()) {
            throw new ConfigException(null, 0, where + ".hosts", "expected a non-empty list of hosts, e.g. hosts: [gpu1, gpu2]"
                    + (list.isTextual() ? " (a single host: hosts: [" + list.asText() + "])" : "") + sshNames(executors));
        }
        List<Host> hosts = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String at = where + ".hosts[" + i + "]";
            JsonNode entry = list.get(i);
            SshExecutorConfig host;
            boolean isNamed = entry.isTextual();
            if (isNamed) {
                host = named(name, at, entry.asText().trim(), executors);
            } else if (entry.isObject()) {
                host = inline(name, i, at, entry, defaults);
            } else {
                throw new ConfigException(null, 0, at, "expected the name of an ssh executor or inline ssh settings such as {host: 10.0.0.7},"
                        + " got " + entry + sshNames(executors));
            }
            String key = host.host() + ":" + (host.port() == null ? "" : host.port()) + ":" + host.remoteDir();
            Integer before = seen.putIfAbsent(key, i);
            if (before != null) {
                throw new ConfigException(null, 0, at, "the same host as hosts[" + before + "] (" + host.host()
                        + (host.port() == null ? "" : ":" + host.port()) + "); list a host once and give it more runs with 'slots:'");
            }
            hosts.add(new Host(host, isNamed));
        }
        return new PoolExecutorConfig(name, hosts, slots, gpusPerSlot);
    }

    private static SshExecutorConfig named(String pool, String at, String ref, Map<String, ExecutorSpec> executors) {
        ExecutorSpec spec = executors.get(ref);
        if (spec == null) {
            List<String> candidates = sshExecutors(executors);
            String hint = Suggest.nearest(ref, candidates).map(s -> "did you mean '" + s + "'? ").orElse("");
            throw new ConfigException(null, 0, at, "no executor named '" + ref + "' is configured; " + hint
                    + (candidates.isEmpty() ? "no ssh executor is configured" : "ssh executors: " + String.join(", ", candidates))
                    + "; a host that is not an executor is written inline, e.g. {host: " + ref + "}");
        }
        if (ref.equals(pool)) {
            throw new ConfigException(null, 0, at, "a pool cannot list itself; list ssh executors or inline hosts");
        }
        if (!SshExecutorProvider.TYPE.equals(spec.type())) {
            throw new ConfigException(null, 0, at, "'" + ref + "' is " + article(spec.type()) + " executor; a pool's hosts are ssh executors"
                    + " or inline ssh settings such as {host: 10.0.0.7}" + sshNames(executors));
        }
        return SshExecutorConfig.fromOptions(ref, spec.options());
    }

    private static SshExecutorConfig inline(String pool, int i, String at, JsonNode entry, ObjectNode defaults) {
        Iterator<String> fields = entry.fieldNames();
        while (fields.hasNext()) {
            String f = fields.next();
            if (f.equals("type")) {
                JsonNode t = entry.get("type");
                if (t != null && t.isTextual() && t.asText().equals(SshExecutorProvider.TYPE)) {
                    continue;
                }
                throw new ConfigException(null, 0, at + ".type", "a pool's inline hosts are ssh hosts: leave 'type:' out");
            }
            if (!HOST_FIELDS.contains(f)) {
                String hint = Suggest.nearest(f, HOST_FIELDS).map(s -> "did you mean '" + s + "'? ").orElse("");
                String poolLevel = f.equals("slots") || f.equals("gpus_per_slot") ? "'" + f + "' is set for the whole pool; " : "";
                throw new ConfigException(null, 0, at + "." + f, "unknown field; " + poolLevel + hint + "valid fields of a pool's host: "
                        + String.join(", ", HOST_FIELDS));
            }
        }
        ObjectNode merged = defaults.deepCopy();
        for (Map.Entry<String, JsonNode> e : entry.properties()) {
            if (!e.getKey().equals("type")) {
                merged.set(e.getKey(), e.getValue());
            }
        }
        return SshExecutorConfig.fromOptions(pool + ".hosts[" + i + "]", merged);
    }

    private static Integer count(JsonNode options, String where, String field, String expected) {
        JsonNode n = options.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        int v;
        if (n.isInt()) {
            v = n.intValue();
        } else if (n.isTextual() && n.asText().trim().matches("\\d{1,5}")) {
            v = Integer.parseInt(n.asText().trim());
        } else {
            throw new ConfigException(null, 0, where + "." + field, expected + ", got " + n);
        }
        if (v < 1 || v > MAX_SLOTS) {
            throw new ConfigException(null, 0, where + "." + field, expected + ", got " + v);
        }
        return v;
    }

    private static List<String> sshExecutors(Map<String, ExecutorSpec> executors) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, ExecutorSpec> e : executors.entrySet()) {
            if (SshExecutorProvider.TYPE.equals(e.getValue().type())) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    private static String sshNames(Map<String, ExecutorSpec> executors) {
        List<String> ssh = sshExecutors(executors);
        return ssh.isEmpty() ? "" : " (ssh executors: " + String.join(", ", ssh) + ")";
    }

    private static String article(String type) {
        return (type != null && !type.isEmpty() && "aeiou".indexOf(type.charAt(0)) >= 0 ? "an " : "a ") + type;
    }
}
