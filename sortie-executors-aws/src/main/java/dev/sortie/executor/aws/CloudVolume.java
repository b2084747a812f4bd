package dev.sortie.executor.aws;

import java.util.Map;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.Volume;
import software.amazon.awssdk.services.ec2.model.VolumeAttachment;

/**
 * One EBS volume as Sortie reads it.
 *
 * @param state       AWS's: creating, available, in-use, deleting, ...
 * @param attachedTo  the instance it is attached to (or attaching to, detaching from), or null
 * @param attachState attaching, attached, detaching, or null when it has no attachment
 */
record CloudVolume(String id, String zone, int sizeGb, String state, String attachedTo, String attachState, Map<String, String> tags) {

    static CloudVolume of(Volume v) {
        Map<String, String> tags = new java.util.LinkedHashMap<>();
        for (Tag t : v.tags()) {
            tags.put(t.key(), t.value());
        }
        VolumeAttachment a = v.attachments().stream().filter(x -> !"detached".equals(x.stateAsString())).findFirst().orElse(null);
        return new CloudVolume(v.volumeId(), v.availabilityZone(), v.size() == null ? 0 : v.size(), v.stateAsString(),
                a == null ? null : a.instanceId(), a == null ? null : a.stateAsString(), Map.copyOf(tags));
    }

    String tag(String key) {
        return tags.get(key);
    }

    /** Free to attach: available, attached nowhere. */
    boolean free() {
        return "available".equals(state) && attachedTo == null;
    }
}
