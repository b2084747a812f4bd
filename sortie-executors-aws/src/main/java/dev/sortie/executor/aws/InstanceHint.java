package dev.sortie.executor.aws;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * What this machine last knew of a ready instance of an executor: enough to log into it without asking EC2 first
 * (its id, address, login user and the host key Sortie gave it, with what a run records of it: type, market, launch
 * time, price). A run on a hot instance confirms it on the instance itself (the SSH host key, which only that instance
 * holds, and the instance id its metadata service gives, see {@link NodeScript#INSTANCE_ID}) and asks EC2 only when
 * that fails. It is a hint, never the record: EC2's tags stay that.
 *
 * <p>Kept in {@code <config>/sortie/aws/hot/<project>-<executor>.properties}, written when a slot of this machine
 * binds a ready instance, removed when the instance is found gone or the executor's instances are terminated.
 */
record InstanceHint(String id, String address, String user, String hostKey, String type, boolean spot, Instant launched,
                    Double price, Instant written) {
    private static final System.Logger LOG = System.getLogger(InstanceHint.class.getName());

    static InstanceHint of(CloudInstance i, String user, boolean privateIp, Instant now) {
        return new InstanceHint(i.id(), i.address(privateIp), user, i.tag(Tags.HOST_KEY), i.type(), i.spot(), i.launched(),
                i.pricePerHour(), now);
    }

    /** The instance as a slot binds it: running, ready, at the hinted address, with the tags a run reads. */
    CloudInstance instance(boolean privateIp) {
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(Tags.HOST_KEY, hostKey);
        tags.put(Tags.READY, "true");
        if (price != null) {
            tags.put(Tags.PRICE, String.valueOf(price));
        }
        return new CloudInstance(id, "running", type, spot, launched, privateIp ? address : null, privateIp ? null : address, Map.copyOf(tags));
    }

    /** Whether the hint is younger than {@code age}: an instance idle longer than its idle stop has shut itself down. */
    boolean fresh(Instant now, Duration age) {
        return written != null && written.plus(age).isAfter(now);
    }

    static Path file(Identity identity, String executor) {
        return identity.configDir().resolve("hot").resolve(identity.project() + "-" + executor.replaceAll("[^A-Za-z0-9_.-]", "_")
                + ".properties");
    }

    /** The hint in {@code file}, or null when there is none or it cannot be read (then EC2 is asked, as without one). */
    static InstanceHint read(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
            String price = p.getProperty("price");
            String launched = p.getProperty("launched");
            InstanceHint h = new InstanceHint(p.getProperty("id"), p.getProperty("address"), p.getProperty("user"),
                    p.getProperty("host_key"), p.getProperty("type"), Boolean.parseBoolean(p.getProperty("spot")),
                    launched == null ? null : Instant.parse(launched), price == null ? null : Double.valueOf(price),
                    Instant.parse(p.getProperty("written")));
            if (h.id() == null || !h.id().startsWith("i-") || h.address() == null || h.user() == null || h.hostKey() == null) {
                LOG.log(System.Logger.Level.DEBUG, "ignoring the incomplete instance hint {0}", file);
                return null;
            }
            return h;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "ignoring the instance hint {0}: {1}", file, e.toString());
            return null;
        }
    }

    /** Writes the hint (atomically: a reader sees the old one or this one); a failure only costs the next run EC2's look. */
    void write(Path file) {
        Properties p = new Properties();
        p.setProperty("id", id);
        p.setProperty("address", address);
        p.setProperty("user", user);
        p.setProperty("host_key", hostKey);
        p.setProperty("type", type == null ? "" : type);
        p.setProperty("spot", Boolean.toString(spot));
        if (launched != null) {
            p.setProperty("launched", launched.toString());
        }
        if (price != null) {
            p.setProperty("price", price.toString());
        }
        p.setProperty("written", written.toString());
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            try {
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    p.store(w, "the instance this machine last saw ready (a hint; EC2's tags are the record)");
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot write the instance hint {0}: {1}", file, e.toString());
        }
    }

    /** Removes the hint when it names instance {@code id} (null: whichever it names). */
    static void forget(Path file, String id) {
        InstanceHint h = read(file);
        if (id != null && (h == null || !id.equals(h.id()))) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot remove the instance hint {0}: {1}", file, e.toString());
        }
    }
}
