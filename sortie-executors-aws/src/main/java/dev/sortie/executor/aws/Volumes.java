package dev.sortie.executor.aws;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.Units;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * An aws executor's named volume ({@link VolumeSpec}): the EBS volume that holds the node-local cache (code blobs,
 * whatever runs put under {@code remote_dir/cache}) from one instance to the next, so the next instance finds what
 * the last one cached instead of being sent it again.
 * <ul>
 * <li>Found by its tags (owner, project, executor, volume name) in the region, or created (gp3, tagged in the same
 *     call) in the zone the launch would go to. Volumes are bound to their availability zone: the launch goes to the
 *     volume's zone.</li>
 * <li>EBS attaches a volume to one instance at a time: a launch while the volume is attached elsewhere, or claimed by
 *     another launch of this sortie, runs without it and says so. Across sortie processes AWS itself refuses the
 *     second AttachVolume ({@code VolumeInUse}); that instance runs without the volume too.</li>
 * <li>Size: the configured one, else the task's declared {@code data:} on disk with a quarter's headroom (at least
 *     1 GiB), else {@value #DEFAULT_GB} GiB. A volume smaller than that is grown (ModifyVolume) before it is attached;
 *     the node grows its file system (resize2fs) when it mounts it. A volume is never shrunk.</li>
 * </ul>
 */
final class Volumes {
    private static final System.Logger LOG = System.getLogger(Volumes.class.getName());
    /** The device name the volume is attached as (a Nitro instance shows it as an NVMe disk whose serial is the volume id). */
    static final String DEVICE = "/dev/sdf";
    static final int DEFAULT_GB = 10;
    private static final Duration WAIT = Duration.ofMinutes(3);
    private final AwsExecutorConfig config;
    private final AwsCloud cloud;
    private final Identity identity;
    private final Path projectDir;
    /** Volumes a launch of this process has chosen and not yet attached (or given up). */
    private final Set<String> claimed = new HashSet<>();

    Volumes(AwsExecutorConfig config, AwsCloud cloud, Identity identity, Path projectDir) {
        this.config = config;
        this.cloud = cloud;
        this.identity = identity;
        this.projectDir = projectDir;
    }

    /** The tags that name this executor's volume {@code name}. */
    Map<String, String> tags(String name) {
        Map<String, String> t = new LinkedHashMap<>();
        t.put(Tags.OWNER, identity.owner());
        t.put(Tags.PROJECT, identity.project());
        t.put(Tags.EXECUTOR, config.name());
        t.put(Tags.VOLUME, name);
        return t;
    }

    /** The GiB the volume should have: the configured size, else the task's data with headroom, else the default. */
    int wantedGb(TaskConfig task) {
        VolumeSpec spec = config.volume();
        if (spec.sizeGb() != null) {
            return spec.sizeGb();
        }
        Long bytes = dataBytes(task);
        if (bytes == null) {
            return DEFAULT_GB;
        }
        long withHeadroom = bytes + bytes / 4;
        return (int) Math.min(VolumeSpec.MAX_GB, Math.max(1, (withHeadroom + (1L << 30) - 1) >> 30));
    }

    /** The bytes of the task's declared data (files under each path, relative to the workdir), or null when it declares none. */
    Long dataBytes(TaskConfig task) {
        if (task == null || task.data().isEmpty() || projectDir == null) {
            return null;
        }
        Path base = projectDir.resolve(task.workdir() == null ? "." : task.workdir());
        long total = 0;
        for (String p : task.data()) {
            Path root = base.resolve(p).normalize();
            if (!Files.exists(root)) {
                LOG.log(System.Logger.Level.INFO, "declared data {0} does not exist here; it counts for nothing in the volume''s size", root);
                continue;
            }
            try (Stream<Path> files = Files.walk(root)) {
                total += files.filter(Files::isRegularFile).mapToLong(f -> {
                    try {
                        return Files.size(f);
                    } catch (IOException e) {
                        return 0;
                    }
                }).sum();
            } catch (IOException | java.io.UncheckedIOException e) {
                LOG.log(System.Logger.Level.INFO, "cannot size declared data {0}: {1}", root, e.toString());
            }
        }
        return total;
    }

    /**
     * The volume for one launch, claimed by it until {@link #release}: found (and grown when it is smaller than
     * wanted) or created in {@code zone} (null: the region's first zone). Null, said why, when it is attached
     * elsewhere or another launch of this process has it: the instance runs without it.
     */
    synchronized CloudVolume claim(TaskConfig task, String zone, Consumer<String> say) throws IOException {
        VolumeSpec spec = config.volume();
        int wanted = wantedGb(task);
        List<CloudVolume> found = cloud.volumes(tags(spec.name()));
        if (found.isEmpty()) {
            String z = zone != null ? zone : cloud.zones().get(0);
            Map<String, String> tags = tags(spec.name());
            tags.put(Tags.NAME, "sortie-" + config.name() + "-" + spec.name());
            CloudVolume v = cloud.createVolume(z, wanted, tags);
            say.accept("[sortie] aws volume " + spec.name() + ": created " + v.id() + " (" + wanted + " GiB, " + z + ")");
            claimed.add(v.id());
            return v;
        }
        CloudVolume v = found.stream().filter(x -> x.free() && !claimed.contains(x.id())).findFirst().orElse(null);
        if (v == null) {
            CloudVolume busy = found.get(0);
            say.accept("[sortie] aws volume " + spec.name() + " (" + busy.id() + ") is "
                    + (claimed.contains(busy.id()) ? "being attached to another instance this sortie launches"
                    : busy.attachedTo() != null ? "attached to " + busy.attachedTo() : busy.state())
                    + ": this instance runs without it (EBS attaches a volume to one instance at a time)");
            return null;
        }
        if (v.sizeGb() < wanted) {
            cloud.growVolume(v.id(), wanted);
            say.accept("[sortie] aws volume " + spec.name() + ": growing " + v.id() + " from " + v.sizeGb() + " to " + wanted + " GiB"
                    + (spec.sizeGb() == null ? " for the task's data" : ""));
            v = new CloudVolume(v.id(), v.zone(), wanted, v.state(), v.attachedTo(), v.attachState(), v.tags());
        }
        claimed.add(v.id());
        return v;
    }

    synchronized void release(String volumeId) {
        claimed.remove(volumeId);
    }

    /**
     * Attaches a claimed volume to a running instance and waits until AWS says attached. False, said why, when AWS
     * refuses (another sortie attached it first) or it does not attach in time: the instance runs without it.
     */
    boolean attach(CloudVolume v, String instanceId, Consumer<String> say) throws IOException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        try {
            CloudVolume now = v;
            while (!"available".equals(now.state())) { // a volume just created is 'creating' for a few seconds
                if (!"creating".equals(now.state()) || System.nanoTime() > deadline) {
                    say.accept("[sortie] aws volume " + v.id() + " is " + now.state() + (now.attachedTo() == null ? "" : " (" + now.attachedTo()
                            + ")") + ": " + instanceId + " runs without it");
                    return false;
                }
                sleep();
                now = cloud.volume(v.id());
                if (now == null) {
                    throw new IOException("volume " + v.id() + " vanished while it was being created");
                }
            }
            try {
                cloud.attachVolume(v.id(), instanceId, DEVICE);
            } catch (AwsException e) {
                if (e.code() != null && (e.code().startsWith("VolumeInUse") || e.code().startsWith("IncorrectState"))) {
                    say.accept("[sortie] aws volume " + v.id() + " was attached elsewhere meanwhile (" + e.code() + "): " + instanceId
                            + " runs without it");
                    return false;
                }
                throw e;
            }
            while (true) {
                now = cloud.volume(v.id());
                if (now != null && instanceId.equals(now.attachedTo()) && "attached".equals(now.attachState())) {
                    return true;
                }
                if (now == null || (now.attachedTo() != null && !instanceId.equals(now.attachedTo()))) {
                    say.accept("[sortie] aws volume " + v.id() + " is not attached to " + instanceId + ": it runs without it");
                    return false;
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("volume " + v.id() + " did not attach to " + instanceId + " within " + Units.human(WAIT)
                            + " (AWS says " + now.state() + ", " + now.attachState() + ")");
                }
                sleep();
            }
        } finally {
            release(v.id());
        }
    }

    /** This user's named volumes where this executor launches (every executor's). */
    List<CloudVolume> all() throws IOException {
        return cloud.volumes(Map.of(Tags.OWNER, identity.owner())).stream().filter(v -> v.tag(Tags.VOLUME) != null).toList();
    }

    /** This executor's named volumes (any name: one configured before, too). */
    List<CloudVolume> mine() throws IOException {
        return all().stream().filter(v -> identity.project().equals(v.tag(Tags.PROJECT)) && config.name().equals(v.tag(Tags.EXECUTOR)))
                .toList();
    }

    /**
     * Deletes this executor's volumes, each once it is detached (its instance terminated: {@code sortie down} first);
     * returns those deleted. One still attached after the wait is left, said why.
     */
    List<CloudVolume> delete(Consumer<String> say) throws IOException {
        List<CloudVolume> deleted = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        for (CloudVolume v : mine()) {
            CloudVolume now = v;
            while (now != null && !now.free() && System.nanoTime() < deadline) {
                sleep();
                now = cloud.volume(v.id());
            }
            if (now == null) {
                continue;
            }
            if (!now.free()) {
                say.accept("[sortie] aws volume " + v.tag(Tags.VOLUME) + " (" + v.id() + ") is still " + now.state()
                        + (now.attachedTo() == null ? "" : " on " + now.attachedTo()) + ": not deleted");
                continue;
            }
            cloud.deleteVolume(v.id());
            say.accept("[sortie] aws volume " + v.tag(Tags.VOLUME) + " (" + v.id() + ", " + v.sizeGb() + " GiB, " + v.zone() + "): deleted");
            deleted.add(now);
        }
        return deleted;
    }

    /** What {@code executor test} says: the volume found (zone, size, where attached) or that a launch would create it. */
    String describeFor(VolumeSpec spec) throws IOException {
        List<CloudVolume> found = cloud.volumes(tags(spec.name()));
        if (found.isEmpty()) {
            return spec.name() + ": none yet; the first launch creates it (" + (spec.sizeGb() != null ? spec.sizeGb() + " GiB"
                    : "sized from the task's data:, else " + DEFAULT_GB + " GiB") + ")";
        }
        CloudVolume v = found.get(0);
        return spec.name() + ": " + v.id() + ", " + v.sizeGb() + " GiB in " + v.zone() + (v.attachedTo() == null ? ", free"
                : ", attached to " + v.attachedTo()) + " (launches go to " + v.zone() + ")";
    }

    private static void sleep() throws InterruptedIOException {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a volume");
        }
    }
}
