package dev.sortie.executor.aws;

import java.time.Instant;
import java.util.Map;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.Tag;

/** One EC2 instance as Sortie reads it: its state, addresses and Sortie's tags. */
record CloudInstance(String id, String state, String type, boolean spot, Instant launched, String privateIp, String publicIp,
                     Map<String, String> tags) {

    static CloudInstance of(Instance i) {
        Map<String, String> tags = new java.util.LinkedHashMap<>();
        for (Tag t : i.tags()) {
            tags.put(t.key(), t.value());
        }
        return new CloudInstance(i.instanceId(), i.state() == null ? "unknown" : i.state().nameAsString(), i.instanceTypeAsString(),
                "spot".equals(i.instanceLifecycleAsString()), i.launchTime(), i.privateIpAddress(), i.publicIpAddress(), Map.copyOf(tags));
    }

    String tag(String key) {
        return tags.get(key);
    }

    boolean running() {
        return "running".equals(state);
    }

    /** Neither gone nor going. */
    boolean alive() {
        return "pending".equals(state) || "running".equals(state);
    }

    /** USD an hour as priced at launch (its tag), or null when unknown. */
    Double pricePerHour() {
        String p = tags.get(Tags.PRICE);
        try {
            return p == null ? null : Double.valueOf(p);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    boolean ready() {
        return "true".equals(tags.get(Tags.READY));
    }

    /** Where Sortie connects: the private address when asked to, else the public one. */
    String address(boolean privateIp) {
        return privateIp ? privateIp() : publicIp();
    }
}
