package dev.sortie.executor.aws;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.ArchitectureType;
import software.amazon.awssdk.services.ec2.model.BlockDeviceMapping;
import software.amazon.awssdk.services.ec2.model.DescribeInstancesRequest;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Image;
import software.amazon.awssdk.services.ec2.model.InstanceMarketOptionsRequest;
import software.amazon.awssdk.services.ec2.model.InstanceTypeInfo;
import software.amazon.awssdk.services.ec2.model.IpPermission;
import software.amazon.awssdk.services.ec2.model.IpRange;
import software.amazon.awssdk.services.ec2.model.MarketType;
import software.amazon.awssdk.services.ec2.model.Reservation;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.RunInstancesRequest;
import software.amazon.awssdk.services.ec2.model.SecurityGroup;
import software.amazon.awssdk.services.ec2.model.ShutdownBehavior;
import software.amazon.awssdk.services.ec2.model.SpotInstanceType;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;
import software.amazon.awssdk.services.ssm.SsmClient;
import software.amazon.awssdk.services.ssm.model.ParameterNotFoundException;

/**
 * The EC2 and SSM calls Sortie makes in one region, each failure explained ({@link AwsException}). Credentials come
 * from the SDK's default chain and endpoints from its standard settings ({@code AWS_ENDPOINT_URL}, a profile's
 * {@code endpoint_url}): Sortie configures neither. The JDK's URL connection is the HTTP client.
 */
final class AwsCloud implements AutoCloseable {
    /** Canonical's account: the owner of the official Ubuntu images. */
    static final String CANONICAL = "099720109477";
    /** AWS's public parameter naming the current Ubuntu LTS image of a region (ARCH: amd64 or arm64). */
    static final String UBUNTU_PARAMETER = "/aws/service/canonical/ubuntu/server/24.04/stable/current/ARCH/hvm/ebs-gp3/ami-id";

    private final String region;
    private Ec2Client ec2;
    private SsmClient ssm;

    AwsCloud(String region) {
        this.region = region;
    }

    String region() {
        return region;
    }

    private synchronized Ec2Client ec2() {
        if (ec2 == null) {
            ec2 = Ec2Client.builder().region(Region.of(region)).httpClientBuilder(UrlConnectionHttpClient.builder())
                    .overrideConfiguration(o -> o.retryStrategy(AwsRetries.strategy())).build();
        }
        return ec2;
    }

    private synchronized SsmClient ssm() {
        if (ssm == null) {
            ssm = SsmClient.builder().region(Region.of(region)).httpClientBuilder(UrlConnectionHttpClient.builder())
                    .overrideConfiguration(o -> o.retryStrategy(AwsRetries.strategy())).build();
        }
        return ssm;
    }

    private <T> T call(String what, Supplier<T> call) throws AwsException {
        try {
            return call.get();
        } catch (SdkException e) {
            throw AwsException.of(e, what, region);
        }
    }

    /** Credentials and region together: the region's availability zones. */
    List<String> zones() throws AwsException {
        return call("list availability zones", () -> ec2().describeAvailabilityZones().availabilityZones().stream()
                .map(z -> z.zoneName()).toList());
    }

    /** An instance type as the region offers it: "2 vCPUs, 1.0 GiB, no GPU", its architecture. */
    record TypeInfo(String name, int vcpus, long memoryMib, int gpus, String gpuModel, String arch) {
        String describe() {
            return name + ": " + vcpus + " vCPUs, " + String.format("%.1f", memoryMib / 1024.0) + " GiB"
                    + (gpus == 0 ? ", no GPU" : ", " + gpus + " x " + gpuModel) + ", " + arch;
        }
    }

    TypeInfo instanceType(String type) throws AwsException {
        List<InstanceTypeInfo> found = call("describe instance type " + type,
                () -> ec2().describeInstanceTypes(r -> r.instanceTypesWithStrings(type)).instanceTypes());
        if (found.isEmpty()) {
            throw new AwsException("instance type '" + type + "' does not exist in " + region, "InvalidInstanceType", null);
        }
        return typeInfo(found.get(0));
    }

    static TypeInfo typeInfo(InstanceTypeInfo i) {
        int gpus = 0;
        String model = null;
        if (i.gpuInfo() != null && i.gpuInfo().gpus() != null) {
            for (var g : i.gpuInfo().gpus()) {
                gpus += g.count() == null ? 0 : g.count();
                model = g.manufacturer() + " " + g.name();
            }
        }
        List<ArchitectureType> archs = i.processorInfo() == null ? List.of() : i.processorInfo().supportedArchitectures();
        String arch = archs.contains(ArchitectureType.X86_64) || archs.isEmpty() ? "x86_64" : archs.get(0).toString();
        return new TypeInfo(i.instanceTypeAsString(), i.vCpuInfo() == null || i.vCpuInfo().defaultVCpus() == null ? 0 : i.vCpuInfo().defaultVCpus(),
                i.memoryInfo() == null || i.memoryInfo().sizeInMiB() == null ? 0 : i.memoryInfo().sizeInMiB(), gpus, model, arch);
    }

    /** Every instance type the region offers. */
    List<TypeInfo> instanceTypes() throws AwsException {
        List<TypeInfo> out = new ArrayList<>();
        call("list the region's instance types", () -> {
            ec2().describeInstanceTypesPaginator(r -> r.maxResults(100)).instanceTypes().forEach(i -> out.add(typeInfo(i)));
            return null;
        });
        return out;
    }

    /** The current spot price of every type in every zone (Linux/UNIX), USD an hour: the latest of the price history. */
    java.util.Map<String, java.util.Map<String, Double>> spotPrices() throws AwsException {
        java.util.Map<String, java.util.Map<String, Double>> out = new java.util.HashMap<>();
        java.util.Map<String, java.time.Instant> at = new java.util.HashMap<>();
        call("read spot prices", () -> {
            for (var p : ec2().describeSpotPriceHistoryPaginator(r -> r.startTime(java.time.Instant.now())
                    .productDescriptions("Linux/UNIX", "Linux/UNIX (Amazon VPC)")).spotPriceHistory()) {
                String key = p.instanceTypeAsString() + " " + p.availabilityZone();
                java.time.Instant t = p.timestamp() == null ? java.time.Instant.EPOCH : p.timestamp();
                if (p.spotPrice() == null || (at.containsKey(key) && at.get(key).isAfter(t))) {
                    continue;
                }
                at.put(key, t);
                out.computeIfAbsent(p.instanceTypeAsString(), k -> new java.util.HashMap<>()).put(p.availabilityZone(), Double.parseDouble(p.spotPrice()));
            }
            return null;
        });
        return out;
    }

    /** The region's prices now: on-demand from the Price List API, spot from the spot price history. */
    Prices fetchPrices(String region) throws IOException {
        var onDemand = PriceList.onDemand(region);
        dev.sortie.core.util.Trace.mark("aws: on-demand prices of " + region);
        return new Prices(region, java.time.Instant.now(), onDemand, spotPrices());
    }

    /** The availability zone of a subnet. */
    String subnetZone(String subnet) throws AwsException {
        var subnets = call("describe subnet " + subnet, () -> ec2().describeSubnets(r -> r.subnetIds(subnet)).subnets());
        if (subnets.isEmpty()) {
            throw new AwsException("subnet " + subnet + " does not exist in " + region, "InvalidSubnetID.NotFound", null);
        }
        return subnets.get(0).availabilityZone();
    }

    /** A subnet of a VPC in a zone (the one with the most free addresses), or null when the VPC has none there. */
    String subnetIn(String vpcId, String zone) throws AwsException {
        var subnets = call("find a subnet of " + vpcId + " in " + zone, () -> ec2().describeSubnets(r -> r.filters(
                Filter.builder().name("vpc-id").values(vpcId).build(),
                Filter.builder().name("availability-zone").values(zone).build())).subnets());
        return subnets.stream().max(Comparator.comparing(sn -> sn.availableIpAddressCount() == null ? 0 : sn.availableIpAddressCount()))
                .map(sn -> sn.subnetId()).orElse(null);
    }

    /** An image and what Sortie needs of it. */
    record ImageInfo(String id, String name, String rootDevice, String defaultUser, String how) {
    }

    /** The configured image, or the region's current Ubuntu LTS one: AWS's public SSM parameter, else the newest Canonical image. */
    ImageInfo image(String configured, String arch) throws AwsException {
        String id = configured;
        String how = "configured";
        if (id == null) {
            String param = UBUNTU_PARAMETER.replace("ARCH", "arm64".equals(arch) ? "arm64" : "amd64");
            try {
                id = ssm().getParameter(r -> r.name(param)).parameter().value();
                how = "SSM parameter " + param;
            } catch (ParameterNotFoundException e) {
                id = null; // the region has no such parameter: Canonical's images by name below
            } catch (SdkException e) {
                if (e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException s && s.statusCode() == 400) {
                    id = null;
                } else {
                    throw AwsException.of(e, "read the SSM parameter " + param, region);
                }
            }
            if (id == null) {
                String a = "arm64".equals(arch) ? "arm64" : "amd64";
                List<Image> ubuntu = call("find Canonical's Ubuntu images", () -> ec2().describeImages(r -> r.owners(CANONICAL)
                        .filters(Filter.builder().name("name").values("ubuntu/images/*ubuntu-*-" + a + "-server-*").build())).images());
                Image newest = ubuntu.stream().filter(i -> i.name() != null)
                        .max(Comparator.comparing((Image i) -> i.creationDate() == null ? "" : i.creationDate()).thenComparing(Image::name))
                        .orElseThrow(() -> new AwsException("no Ubuntu image of Canonical's in " + region + " (neither the SSM parameter "
                                + param + " nor DescribeImages found one): give one with --image ami-...", null, null));
                id = newest.imageId();
                how = "Canonical's newest Ubuntu image";
            }
        }
        String imageId = id;
        List<Image> images = call("describe image " + imageId, () -> ec2().describeImages(r -> r.imageIds(imageId)).images());
        if (images.isEmpty()) {
            throw new AwsException("image " + imageId + " does not exist in " + region + " (AMI ids differ per region)", "InvalidAMIID.NotFound", null);
        }
        Image i = images.get(0);
        return new ImageInfo(imageId, i.name(), i.rootDeviceName(), defaultUser(i.name()), how);
    }

    /** The login user of an image family, as their cloud-init configures it. */
    static String defaultUser(String imageName) {
        String n = imageName == null ? "" : imageName.toLowerCase(java.util.Locale.ROOT);
        if (n.contains("ubuntu")) {
            return "ubuntu";
        }
        if (n.contains("debian")) {
            return "admin";
        }
        if (n.contains("rocky")) {
            return "rocky";
        }
        return "ec2-user"; // Amazon Linux, RHEL, the Deep Learning AMIs on Amazon Linux
    }

    /** Imports the login key under {@code name} unless a key pair of that name exists. */
    void ensureKeyPair(String name, String publicKey) throws AwsException {
        try {
            ec2().describeKeyPairs(r -> r.keyNames(name));
            return;
        } catch (Ec2Exception e) {
            if (e.awsErrorDetails() == null || !"InvalidKeyPair.NotFound".equals(e.awsErrorDetails().errorCode())) {
                throw AwsException.of(e, "look up key pair " + name, region);
            }
        } catch (SdkException e) {
            throw AwsException.of(e, "look up key pair " + name, region);
        }
        try {
            ec2().importKeyPair(r -> r.keyName(name)
                    .publicKeyMaterial(software.amazon.awssdk.core.SdkBytes.fromString(publicKey, StandardCharsets.US_ASCII))
                    .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.KEY_PAIR)
                            .tags(Tag.builder().key(Tags.NAME).value(name).build()).build()));
        } catch (Ec2Exception e) {
            // Another sortie process imported it between the look-up and the import: the name holds the key's hash,
            // so the key pair there is this key.
            if (e.awsErrorDetails() == null || !"InvalidKeyPair.Duplicate".equals(e.awsErrorDetails().errorCode())) {
                throw AwsException.of(e, "import key pair " + name, region);
            }
        } catch (SdkException e) {
            throw AwsException.of(e, "import key pair " + name, region);
        }
    }

    /** The VPC of a subnet, or the default VPC (null subnet), with its CIDR. */
    record Vpc(String id, String cidr) {
    }

    Vpc vpc(String subnet) throws AwsException {
        String vpcId;
        if (subnet != null) {
            var subnets = call("describe subnet " + subnet, () -> ec2().describeSubnets(r -> r.subnetIds(subnet)).subnets());
            if (subnets.isEmpty()) {
                throw new AwsException("subnet " + subnet + " does not exist in " + region, "InvalidSubnetID.NotFound", null);
            }
            vpcId = subnets.get(0).vpcId();
        } else {
            var vpcs = call("find the default VPC", () -> ec2().describeVpcs(r -> r.filters(
                    Filter.builder().name("is-default").values("true").build())).vpcs());
            if (vpcs.isEmpty()) {
                throw new AwsException("region " + region + " has no default VPC: give a subnet with --subnet subnet-...", null, null);
            }
            vpcId = vpcs.get(0).vpcId();
        }
        var v = call("describe VPC " + vpcId, () -> ec2().describeVpcs(r -> r.vpcIds(vpcId)).vpcs());
        return new Vpc(vpcId, v.isEmpty() ? null : v.get(0).cidrBlock());
    }

    /** Sortie's security group in a VPC, letting SSH in from {@code cidr} only; made or extended as needed. */
    String ensureSecurityGroup(String name, Vpc vpc, String cidr) throws AwsException {
        List<SecurityGroup> found = securityGroups(name, vpc);
        String id = null;
        boolean has = false;
        if (found.isEmpty()) {
            try {
                id = ec2().createSecurityGroup(r -> r.groupName(name).vpcId(vpc.id())
                        .description("Sortie: SSH from its user's address only")).groupId();
            } catch (Ec2Exception e) {
                // another sortie process made it between the look-up and the creation: that one is used
                if (e.awsErrorDetails() == null || !"InvalidGroup.Duplicate".equals(e.awsErrorDetails().errorCode())) {
                    throw AwsException.of(e, "create security group " + name, region);
                }
                found = securityGroups(name, vpc);
            } catch (SdkException e) {
                throw AwsException.of(e, "create security group " + name, region);
            }
        }
        if (id == null && found.isEmpty()) {
            throw new AwsException("security group " + name + " in " + vpc.id() + " was reported as existing, then not found", null, null);
        }
        if (id == null) {
            id = found.get(0).groupId();
            for (IpPermission p : found.get(0).ipPermissions()) {
                if (p.fromPort() != null && p.fromPort() == 22 && p.ipRanges().stream().anyMatch(x -> cidr.equals(x.cidrIp()))) {
                    has = true;
                }
            }
        }
        String groupId = id;
        if (!has) {
            try {
                ec2().authorizeSecurityGroupIngress(r -> r.groupId(groupId).ipPermissions(IpPermission.builder().ipProtocol("tcp")
                        .fromPort(22).toPort(22).ipRanges(IpRange.builder().cidrIp(cidr).description("sortie").build()).build()));
            } catch (Ec2Exception e) {
                if (e.awsErrorDetails() == null || !"InvalidPermission.Duplicate".equals(e.awsErrorDetails().errorCode())) {
                    throw AwsException.of(e, "let SSH into security group " + name, region);
                }
            } catch (SdkException e) {
                throw AwsException.of(e, "let SSH into security group " + name, region);
            }
        }
        return groupId;
    }

    private List<SecurityGroup> securityGroups(String name, Vpc vpc) throws AwsException {
        return call("look up security group " + name, () -> ec2().describeSecurityGroups(r -> r.filters(
                Filter.builder().name("group-name").values(name).build(),
                Filter.builder().name("vpc-id").values(vpc.id()).build())).securityGroups());
    }

    /** This machine's public address, as AWS sees it, as a /32. */
    static String publicAddress() throws IOException {
        try {
            HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(
                    HttpRequest.newBuilder(URI.create("https://checkip.amazonaws.com")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            String ip = r.body().trim();
            if (r.statusCode() != 200 || !ip.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                throw new IOException("checkip.amazonaws.com answered " + r.statusCode());
            }
            return ip + "/32";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while finding this machine's address");
        } catch (IOException e) {
            throw new IOException("cannot find this machine's public address for the security group (" + e.getMessage()
                    + "); give it with --ssh-from CIDR", e);
        }
    }

    /** What one launch asks for. */
    record Launch(String image, String type, boolean spot, String subnet, String zone, String securityGroup, String keyName,
                  String rootDevice, Integer diskGb, String userData, Map<String, String> tags, String instanceProfile) {
        /** A launch with no instance profile (the instance gets no AWS credentials). */
        Launch(String image, String type, boolean spot, String subnet, String zone, String securityGroup, String keyName,
               String rootDevice, Integer diskGb, String userData, Map<String, String> tags) {
            this(image, type, spot, subnet, zone, securityGroup, keyName, rootDevice, diskGb, userData, tags, null);
        }

        Launch withInstanceProfile(String profile) {
            return new Launch(image, type, spot, subnet, zone, securityGroup, keyName, rootDevice, diskGb, userData, tags, profile);
        }
    }

    /** RunInstances for one instance, tagged (instance and volumes) in the same call; returns it as AWS first saw it. */
    CloudInstance run(Launch l) throws AwsException {
        List<Tag> tags = l.tags().entrySet().stream().map(e -> Tag.builder().key(e.getKey()).value(e.getValue()).build()).toList();
        RunInstancesRequest.Builder b = RunInstancesRequest.builder().imageId(l.image()).instanceType(l.type()).minCount(1).maxCount(1)
                .keyName(l.keyName()).securityGroupIds(l.securityGroup())
                .instanceInitiatedShutdownBehavior(ShutdownBehavior.TERMINATE)
                .userData(Base64.getEncoder().encodeToString(l.userData().getBytes(StandardCharsets.UTF_8)))
                .metadataOptions(m -> m.httpTokens("required"))
                .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.INSTANCE).tags(tags).build(),
                        TagSpecification.builder().resourceType(ResourceType.VOLUME).tags(tags).build());
        if (l.subnet() != null) {
            b.subnetId(l.subnet());
        } else if (l.zone() != null) {
            b.placement(p -> p.availabilityZone(l.zone()));
        }
        if (l.instanceProfile() != null) {
            b.iamInstanceProfile(p -> p.name(l.instanceProfile()));
        }
        if (l.spot()) {
            b.instanceMarketOptions(InstanceMarketOptionsRequest.builder().marketType(MarketType.SPOT)
                    .spotOptions(s -> s.spotInstanceType(SpotInstanceType.ONE_TIME)
                            .instanceInterruptionBehavior(software.amazon.awssdk.services.ec2.model.InstanceInterruptionBehavior.TERMINATE)).build());
        }
        if (l.diskGb() != null && l.rootDevice() != null) {
            b.blockDeviceMappings(BlockDeviceMapping.builder().deviceName(l.rootDevice())
                    .ebs(e -> e.volumeSize(l.diskGb()).volumeType("gp3").deleteOnTermination(true)).build());
        }
        var r = call("launch a " + l.type() + (l.spot() ? " spot" : " on-demand") + " instance"
                + (l.zone() != null ? " in " + l.zone() : ""), () -> ec2().runInstances(b.build()));
        return CloudInstance.of(r.instances().get(0));
    }

    /** Instances matching tag filters ({@code tag:KEY} to value), in every state but terminated. */
    List<CloudInstance> instances(Map<String, String> tagFilters) throws AwsException {
        List<Filter> filters = new ArrayList<>();
        tagFilters.forEach((k, v) -> filters.add(Filter.builder().name("tag:" + k).values(v).build()));
        filters.add(Filter.builder().name("instance-state-name").values("pending", "running", "stopping", "stopped", "shutting-down").build());
        List<CloudInstance> out = new ArrayList<>();
        call("list instances", () -> {
            for (var page : ec2().describeInstancesPaginator(DescribeInstancesRequest.builder().filters(filters).build())) {
                for (Reservation res : page.reservations()) {
                    res.instances().forEach(i -> out.add(CloudInstance.of(i)));
                }
            }
            return null;
        });
        out.sort(Comparator.comparing((CloudInstance i) -> i.launched() == null ? java.time.Instant.EPOCH : i.launched())
                .thenComparing(CloudInstance::id));
        return out;
    }

    /**
     * The instances of this region, anyone's, that run with the instance profile {@code name} or may run again with it
     * (pending, running, stopping, stopped): an instance shutting down uses it no more.
     */
    List<String> instancesWithProfile(String name) throws AwsException {
        List<Filter> filters = List.of(Filter.builder().name("instance-state-name").values("pending", "running", "stopping", "stopped").build());
        List<String> out = new ArrayList<>();
        call("list the instances that use the instance profile " + name, () -> {
            for (var page : ec2().describeInstancesPaginator(DescribeInstancesRequest.builder().filters(filters).build())) {
                for (Reservation res : page.reservations()) {
                    res.instances().stream().filter(i -> i.iamInstanceProfile() != null && i.iamInstanceProfile().arn() != null
                            && i.iamInstanceProfile().arn().endsWith("instance-profile/" + name)).forEach(i -> out.add(i.instanceId()));
                }
            }
            return null;
        });
        return out;
    }

    /** One instance in any state (terminated included), or null when AWS no longer knows it. */
    CloudInstance instance(String id) throws AwsException {
        try {
            var res = ec2().describeInstances(r -> r.instanceIds(id)).reservations();
            return res.isEmpty() || res.get(0).instances().isEmpty() ? null : CloudInstance.of(res.get(0).instances().get(0));
        } catch (Ec2Exception e) {
            if (e.awsErrorDetails() != null && "InvalidInstanceID.NotFound".equals(e.awsErrorDetails().errorCode())) {
                return null;
            }
            throw AwsException.of(e, "describe instance " + id, region);
        } catch (SdkException e) {
            throw AwsException.of(e, "describe instance " + id, region);
        }
    }

    void tag(String id, String key, String value) throws AwsException {
        call("tag instance " + id, () -> ec2().createTags(r -> r.resources(id).tags(Tag.builder().key(key).value(value).build())));
    }

    void terminate(List<String> ids) throws AwsException {
        if (!ids.isEmpty()) {
            call("terminate " + String.join(", ", ids), () -> ec2().terminateInstances(r -> r.instanceIds(ids)));
        }
    }

    /** Volumes matching tag filters ({@code tag:KEY} to value), in every state but deleted. */
    List<CloudVolume> volumes(Map<String, String> tagFilters) throws AwsException {
        List<Filter> filters = new ArrayList<>();
        tagFilters.forEach((k, v) -> filters.add(Filter.builder().name("tag:" + k).values(v).build()));
        List<CloudVolume> out = new ArrayList<>();
        call("list volumes", () -> {
            for (var page : ec2().describeVolumesPaginator(r -> r.filters(filters))) {
                page.volumes().stream().filter(v -> !"deleted".equals(v.stateAsString())).forEach(v -> out.add(CloudVolume.of(v)));
            }
            return null;
        });
        out.sort(Comparator.comparing(CloudVolume::id));
        return out;
    }

    /** One volume, or null when AWS no longer knows it. */
    CloudVolume volume(String id) throws AwsException {
        try {
            var found = ec2().describeVolumes(r -> r.volumeIds(id)).volumes();
            return found.isEmpty() ? null : CloudVolume.of(found.get(0));
        } catch (Ec2Exception e) {
            if (e.awsErrorDetails() != null && "InvalidVolume.NotFound".equals(e.awsErrorDetails().errorCode())) {
                return null;
            }
            throw AwsException.of(e, "describe volume " + id, region);
        } catch (SdkException e) {
            throw AwsException.of(e, "describe volume " + id, region);
        }
    }

    /** A gp3 volume in {@code zone}, tagged in the same call (a sortie killed right after it leaves nothing untagged). */
    CloudVolume createVolume(String zone, int sizeGb, Map<String, String> tags) throws AwsException {
        List<Tag> t = tags.entrySet().stream().map(e -> Tag.builder().key(e.getKey()).value(e.getValue()).build()).toList();
        var v = call("create a " + sizeGb + " GiB volume in " + zone, () -> ec2().createVolume(r -> r.availabilityZone(zone).size(sizeGb)
                .volumeType("gp3").tagSpecifications(TagSpecification.builder().resourceType(ResourceType.VOLUME).tags(t).build())));
        return new CloudVolume(v.volumeId(), v.availabilityZone(), v.size() == null ? sizeGb : v.size(), v.stateAsString(), null, null,
                Map.copyOf(tags));
    }

    void attachVolume(String volumeId, String instanceId, String device) throws AwsException {
        call("attach volume " + volumeId + " to " + instanceId + " as " + device,
                () -> ec2().attachVolume(r -> r.volumeId(volumeId).instanceId(instanceId).device(device)));
    }

    void growVolume(String volumeId, int sizeGb) throws AwsException {
        call("grow volume " + volumeId + " to " + sizeGb + " GiB", () -> ec2().modifyVolume(r -> r.volumeId(volumeId).size(sizeGb)));
    }

    void deleteVolume(String volumeId) throws AwsException {
        call("delete volume " + volumeId, () -> ec2().deleteVolume(r -> r.volumeId(volumeId)));
    }

    @Override
    public synchronized void close() {
        if (ec2 != null) {
            ec2.close();
        }
        if (ssm != null) {
            ssm.close();
        }
    }
}
