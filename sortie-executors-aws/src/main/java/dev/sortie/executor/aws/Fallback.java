package dev.sortie.executor.aws;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One entry of an executor's fallback list: what a launch tries when AWS has no capacity for the one before (or a
 * quota of the account is reached). Each entry changes the first launch (not the entry before it) in what it names:
 * another availability zone, another instance type, on-demand instead of spot; the fields an entry leaves out stay
 * as the first launch had them. Entries are tried in order.
 *
 * <pre>
 * fallback: [{zone: us-east-1b}, {instance_type: g5.2xlarge}, {on_demand: true}]
 * --fallback zone:us-east-1b,type:g5.2xlarge,on-demand        (one entry's fields joined with +: zone:us-east-1b+on-demand)
 * </pre>
 */
record Fallback(String zone, String instanceType, boolean onDemand) {
    private static final Pattern ZONE = Pattern.compile("[a-z]{2}(-[a-z]+)+-\\d{1,2}[a-z]");
    private static final Pattern TYPE = Pattern.compile("[a-z][a-z0-9-]*\\.[a-z0-9-]+");
    static final String VALID = "a list of entries, each {zone: us-east-1b}, {instance_type: g5.2xlarge} or {on_demand: true}"
            + " (or, on the command line, zone:us-east-1b,type:g5.2xlarge,on-demand; one entry's fields joined with +)";

    /** "zone us-east-1b", "type g5.2xlarge, on-demand". */
    String describe() {
        List<String> parts = new ArrayList<>();
        if (zone != null) {
            parts.add("zone " + zone);
        }
        if (instanceType != null) {
            parts.add("type " + instanceType);
        }
        if (onDemand) {
            parts.add("on-demand");
        }
        return String.join(", ", parts);
    }

    static List<Fallback> parse(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (n.isTextual()) {
            List<Fallback> out = new ArrayList<>();
            int i = 0;
            for (String s : n.asText().split(",")) {
                if (!s.isBlank()) {
                    out.add(ofText(s.trim(), where + "[" + i++ + "]"));
                }
            }
            return out;
        }
        if (!n.isArray()) {
            throw new ConfigException(null, 0, where, "expected " + VALID + ", got " + n);
        }
        List<Fallback> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            String at = where + "[" + i + "]";
            out.add(e.isTextual() ? ofText(e.asText().trim(), at) : ofObject(e, at));
        }
        return List.copyOf(out);
    }

    private static Fallback ofObject(JsonNode e, String at) {
        if (!e.isObject()) {
            throw new ConfigException(null, 0, at, "expected " + VALID + ", got " + e);
        }
        String zone = null;
        String type = null;
        boolean onDemand = false;
        for (Iterator<String> it = e.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            JsonNode v = e.get(f);
            switch (f) {
                case "zone" -> zone = v.asText();
                case "instance_type" -> type = v.asText();
                case "on_demand" -> {
                    if (!v.isBoolean() && !(v.isTextual() && v.asText().matches("true|false"))) {
                        throw new ConfigException(null, 0, at + ".on_demand", "expected true or false, got " + v);
                    }
                    onDemand = v.asBoolean() || "true".equals(v.asText());
                }
                default -> throw new ConfigException(null, 0, at + "." + f, "unknown field; a fallback entry has zone, instance_type"
                        + " and on_demand");
            }
        }
        return check(zone, type, onDemand, at);
    }

    private static Fallback ofText(String s, String at) {
        String zone = null;
        String type = null;
        boolean onDemand = false;
        for (String part : s.split("\\+")) {
            String p = part.trim();
            if (p.equals("on-demand") || p.equals("on_demand") || p.equals("on_demand:true")) {
                onDemand = true;
            } else if (p.startsWith("zone:")) {
                zone = p.substring(5);
            } else if (p.startsWith("type:") || p.startsWith("instance_type:")) {
                type = p.substring(p.indexOf(':') + 1);
            } else {
                throw new ConfigException(null, 0, at, "'" + p + "' is not a fallback entry; expected " + VALID);
            }
        }
        return check(zone, type, onDemand, at);
    }

    private static Fallback check(String zone, String type, boolean onDemand, String at) {
        if (zone != null && !ZONE.matcher(zone).matches()) {
            throw new ConfigException(null, 0, at + ".zone", "'" + zone + "' is not an availability zone (like us-east-1b)");
        }
        if (type != null && !TYPE.matcher(type).matches()) {
            throw new ConfigException(null, 0, at + ".instance_type", "'" + type + "' is not an EC2 instance type (like g5.2xlarge)");
        }
        if (zone == null && type == null && !onDemand) {
            throw new ConfigException(null, 0, at, "an empty fallback entry changes nothing; expected " + VALID);
        }
        return new Fallback(zone, type, onDemand);
    }
}
