package dev.sortie.executor.aws;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.Suggest;
import dev.sortie.core.config.Units;
import dev.sortie.executor.remote.host.RemoteLayout;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The options of an {@code aws} executor, validated when the executor is configured:
 *
 * <pre>
 * executors:
 *   gpu: {type: aws, region: eu-west-1, instance_type: g5.xlarge, spot: true, max_instances: 4, idle_stop: 10m}
 * </pre>
 *
 * @param instanceType  the EC2 instance type (null: chosen from the task's resources by an {@link InstanceChooser})
 * @param image         an AMI id, or null for the region's current Ubuntu LTS image (AWS's public SSM parameter)
 * @param subnet        the subnet to launch into, or null for the default VPC's
 * @param maxInstances  how many instances a queue drain may run at once
 * @param idleStop      the node's watchdog powers the instance off after this long with no run
 * @param maxLifetime   ... and after this long in any case (null: no limit)
 * @param diskGb        the root volume's size in GiB, or null for the image's
 * @param sshUser       the login user, or null for the image family's (ubuntu, ec2-user, ...)
 * @param privateIp     connect to the instance's private address (a VPN, a bastion, the same VPC; the tests)
 * @param sshFrom       the CIDR the security group lets SSH in from, or null for this machine's address
 * @param bootTimeout   an instance not answering SSH this long after its launch is terminated
 * @param fallback      what a launch tries, in order, when AWS has no capacity or a quota is reached
 * @param onDemandAfter a spot executor launches the replacement for an experiment on-demand once spot interruptions
 *                      (or lost instances) have ended this many of its attempts
 * @param volume        the named EBS volume that holds the node-local cache across instances, or null for none
 */
public record AwsExecutorConfig(
        String name,
        String region,
        String instanceType,
        boolean spot,
        String image,
        String subnet,
        int maxInstances,
        Duration idleStop,
        Duration maxLifetime,
        Integer diskGb,
        String sshUser,
        boolean privateIp,
        String sshFrom,
        String remoteDir,
        Duration lostAfter,
        Duration bootTimeout,
        List<Fallback> fallback,
        int onDemandAfter,
        VolumeSpec volume) {

    public static final List<String> FIELDS = List.of("type", "region", "instance_type", "spot", "image", "subnet", "max_instances",
            "idle_stop", "max_lifetime", "disk", "ssh_user", "private_ip", "ssh_from", "remote_dir", "lost_after", "boot_timeout", "fallback",
            "on_demand_after", "volume");
    public static final Duration DEFAULT_IDLE_STOP = Duration.ofMinutes(10);
    public static final Duration DEFAULT_LOST_AFTER = Duration.ofMinutes(5);
    public static final Duration DEFAULT_BOOT_TIMEOUT = Duration.ofMinutes(10);
    public static final int DEFAULT_ON_DEMAND_AFTER = 2;
    private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-\\d{1,2}");
    private static final Pattern INSTANCE_TYPE = Pattern.compile("[a-z][a-z0-9-]*\\.[a-z0-9-]+");
    private static final Pattern IMAGE = Pattern.compile("ami-[0-9a-f]{8,17}");
    private static final Pattern SUBNET = Pattern.compile("subnet-[0-9a-f]{8,17}");
    private static final Pattern CIDR = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}");
    private static final Pattern USER = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");

    /** Reads and validates an executor's options; every mistake names the field and what would be valid. */
    public static AwsExecutorConfig fromOptions(String name, JsonNode o) {
        String where = "executors." + name;
        if (o == null || !o.isObject()) {
            throw new ConfigException(null, 0, where, "an aws executor needs options, at least 'region:', e.g. {type: aws, region: us-east-1,"
                    + " instance_type: t3.large}");
        }
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            if (!FIELDS.contains(n)) {
                String hint = Suggest.nearest(n, FIELDS).map(s -> "did you mean '" + s + "'? ").orElse("");
                throw new ConfigException(null, 0, where + "." + n, "unknown field; " + hint + "valid fields of an aws executor: "
                        + String.join(", ", FIELDS.subList(1, FIELDS.size())));
            }
        }
        String region = text(o, where, "region");
        if (region == null) {
            throw new ConfigException(null, 0, where + ".region", "required: the AWS region to launch in, e.g. us-east-1 or eu-west-1");
        }
        if (!REGION.matcher(region).matches()) {
            throw new ConfigException(null, 0, where + ".region", "'" + region + "' is not an AWS region name (like us-east-1, eu-west-1,"
                    + " ap-southeast-2)");
        }
        String type = match(o, where, "instance_type", INSTANCE_TYPE, "an EC2 instance type like t3.large or g5.xlarge");
        String image = match(o, where, "image", IMAGE, "an AMI id like ami-0123456789abcdef0 (leave it out for the region's"
                + " current Ubuntu LTS image)");
        String subnet = match(o, where, "subnet", SUBNET, "a subnet id like subnet-0123456789abcdef0");
        String sshFrom = match(o, where, "ssh_from", CIDR, "an IPv4 CIDR like 203.0.113.7/32");
        String user = match(o, where, "ssh_user", USER, "a login user name like ubuntu or ec2-user");
        int max = integer(o, where, "max_instances", 1, 1, 1000);
        Integer disk = null;
        JsonNode d = o.get("disk");
        if (d != null && !d.isNull()) {
            long bytes;
            try {
                bytes = d.isNumber() ? d.longValue() << 30 : Units.size(d.asText().trim().matches("\\d+") ? d.asText().trim() + "G" : d.asText());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(null, 0, where + ".disk", "expected the root volume's size, e.g. 100G (GiB), got " + d);
            }
            long gb = (bytes + (1L << 30) - 1) >> 30;
            if (gb < 1 || gb > 16384) {
                throw new ConfigException(null, 0, where + ".disk", "expected a root volume from 1G to 16T, got " + d.asText());
            }
            disk = (int) gb;
        }
        Duration idle = duration(o, where, "idle_stop", DEFAULT_IDLE_STOP);
        Duration life = duration(o, where, "max_lifetime", null);
        Duration lost = duration(o, where, "lost_after", DEFAULT_LOST_AFTER);
        Duration boot = duration(o, where, "boot_timeout", DEFAULT_BOOT_TIMEOUT);
        String remoteDir = text(o, where, "remote_dir");
        if (remoteDir == null) {
            remoteDir = RemoteLayout.DEFAULT_ROOT;
        } else if (!(remoteDir.startsWith("/") || remoteDir.equals("~") || remoteDir.startsWith("~/")) || remoteDir.contains("\n")
                || remoteDir.contains("'")) {
            throw new ConfigException(null, 0, where + ".remote_dir", "expected an absolute path or one under ~/ on the instance, got '"
                    + remoteDir + "'");
        }
        return new AwsExecutorConfig(name, region, type, flag(o, where, "spot"), image, subnet, max, idle, life, disk, user,
                flag(o, where, "private_ip"), sshFrom, remoteDir, lost, boot, Fallback.parse(o.get("fallback"), where + ".fallback"),
                integer(o, where, "on_demand_after", DEFAULT_ON_DEMAND_AFTER, 0, 1000),
                VolumeSpec.parse(text(o, where, "volume"), where + ".volume"));
    }

    private static String text(JsonNode o, String where, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual() && !n.isNumber()) {
            throw new ConfigException(null, 0, where + "." + field, "expected a string, got " + n);
        }
        String s = n.asText().trim();
        return s.isEmpty() ? null : s;
    }

    private static String match(JsonNode o, String where, String field, Pattern p, String valid) {
        String s = text(o, where, field);
        if (s != null && !p.matcher(s).matches()) {
            throw new ConfigException(null, 0, where + "." + field, "'" + s + "' is not " + valid);
        }
        return s;
    }

    private static boolean flag(JsonNode o, String where, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return false;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        if (n.isTextual() && (n.asText().equals("true") || n.asText().equals("false"))) {
            return Boolean.parseBoolean(n.asText());
        }
        throw new ConfigException(null, 0, where + "." + field, "expected true or false, got " + n);
    }

    private static int integer(JsonNode o, String where, String field, int dflt, int min, int max) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        long v;
        if (n.isIntegralNumber()) {
            v = n.longValue();
        } else if (n.isTextual() && n.asText().trim().matches("\\d{1,9}")) {
            v = Long.parseLong(n.asText().trim());
        } else {
            throw new ConfigException(null, 0, where + "." + field, "expected a whole number from " + min + " to " + max + ", got " + n);
        }
        if (v < min || v > max) {
            throw new ConfigException(null, 0, where + "." + field, "expected a whole number from " + min + " to " + max + ", got " + v);
        }
        return (int) v;
    }

    private static Duration duration(JsonNode o, String where, String field, Duration dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        Duration d;
        try {
            d = Units.duration(n.asText());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(null, 0, where + "." + field, e.getMessage());
        }
        if (d.isNegative() || d.isZero()) {
            throw new ConfigException(null, 0, where + "." + field, "expected a positive duration, e.g. 10m");
        }
        return d;
    }
}
