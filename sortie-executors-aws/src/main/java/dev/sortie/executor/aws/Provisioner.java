package dev.sortie.executor.aws;

import dev.sortie.core.config.Resources;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.Units;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.TestPause;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.SlotBusyException;
import dev.sortie.executor.ssh.SshConnection;
import dev.sortie.executor.ssh.SshExecutor;
import dev.sortie.executor.ssh.SshExecutorConfig;
import dev.sortie.executor.ssh.SshPaths;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Launches one instance of an aws executor and waits until it is a host Sortie can run on, saying how it goes
 * (requested, pending, booting, agent ready, each with the time since the request), and makes the
 * {@link SshExecutor} that reaches an instance. An instance that never becomes ready is terminated, with why.
 */
final class Provisioner {
    private static final System.Logger LOG = System.getLogger(Provisioner.class.getName());
    private final AwsExecutorConfig config;
    private final AwsCloud cloud;
    private final Identity identity;
    private final Path stateDir;
    private final BlobStore store;
    private final PriceCache priceCache;
    private Prices prices;
    private List<AwsCloud.TypeInfo> types;

    Provisioner(AwsExecutorConfig config, AwsCloud cloud, Identity identity, Path stateDir, BlobStore store) {
        this(config, cloud, identity, stateDir, store, PriceCache.user());
    }

    Provisioner(AwsExecutorConfig config, AwsCloud cloud, Identity identity, Path stateDir, BlobStore store, PriceCache priceCache) {
        this.config = config;
        this.cloud = cloud;
        this.identity = identity;
        this.stateDir = stateDir;
        this.store = store;
        this.priceCache = priceCache;
    }

    /** Everything a launch resolves before RunInstances: also what {@code executor test} shows. */
    record Plan(AwsCloud.TypeInfo type, AwsCloud.ImageInfo image, String sshUser, String keyName, Path keyFile, String publicKey) {
    }

    /** The type a launch asks for, its hourly price where it launches (null: unknown), the zone it prices and why. */
    record Choice(String type, Double hourly, boolean spot, String zone, String why) {
    }

    /** The region's prices (the cache's, fetched once a day), once per process. */
    synchronized Prices prices() throws IOException {
        if (prices == null) {
            prices = priceCache.get(config.region(), cloud::fetchPrices);
        }
        return prices;
    }

    /** The prices, or null when they cannot be had (a launch of an explicit type does not need them). */
    private Prices pricesIfAny() {
        try {
            return prices();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.INFO, "no prices for {0}: {1}", config.region(), e.getMessage());
            return null;
        }
    }

    private synchronized List<AwsCloud.TypeInfo> types() throws IOException {
        if (types == null) {
            types = cloud.instanceTypes();
        }
        return types;
    }

    /**
     * The type to launch for {@code task} (null: the project's task is not known, e.g. {@code sortie up} outside a
     * project): the executor's explicit type, else the cheapest that fits the task's resources at the executor's market.
     * The zone priced is the subnet's; with no subnet, a spot launch goes to the cheapest zone of its type.
     */
    synchronized Choice choose(TaskConfig task) throws IOException {
        boolean spot = config.spot();
        String subnetZone = config.subnet() == null ? null : cloud.subnetZone(config.subnet());
        if (config.instanceType() != null) {
            Prices p = pricesIfAny();
            String zone = subnetZone != null ? subnetZone : spot && p != null ? cheapestZone(p, config.instanceType()) : null;
            return new Choice(config.instanceType(), p == null ? null : p.hourly(config.instanceType(), spot, zone), spot, zone,
                    "the executor's instance type");
        }
        Resources r = task == null ? Resources.NONE : task.resources();
        Prices p = prices();
        if (p.onDemand().isEmpty() && !spot) {
            throw new AwsException("no on-demand prices for " + config.region() + " (the Price List API listed none): Sortie cannot choose"
                    + " the cheapest type; give one with `sortie executor add " + config.name() + " ... --instance-type TYPE`", null, null);
        }
        List<InstanceChooser.Candidate> ranked = InstanceChooser.rank(types(), p, r, spot, subnetZone);
        if (ranked.isEmpty()) {
            long fit = types().stream().filter(t -> InstanceChooser.fits(t, r)).count();
            throw new AwsException("no instance type of " + config.region() + (subnetZone == null ? "" : " in " + subnetZone) + " fits "
                    + InstanceChooser.describe(r) + " with a known " + (spot ? "spot" : "on-demand") + " price (" + fit
                    + " fit, none priced); change resources: in sortie.yaml or give a type with --instance-type", null, null);
        }
        InstanceChooser.Candidate best = ranked.get(0);
        String zone = subnetZone != null ? subnetZone : spot ? cheapestZone(p, best.type().name()) : null;
        return new Choice(best.type().name(), best.hourly(), spot, zone, "the cheapest of " + ranked.size() + " priced types that fit "
                + InstanceChooser.describe(r));
    }

    private static String cheapestZone(Prices p, String type) {
        Map<String, Double> zones = p.spot().get(type);
        return zones == null ? null : zones.entrySet().stream().min(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
    }

    synchronized Plan plan(String typeName) throws IOException {
        AwsCloud.TypeInfo type = cloud.instanceType(typeName);
        AwsCloud.ImageInfo image = cloud.image(config.image(), type.arch());
        String user = config.sshUser() != null ? config.sshUser() : image.defaultUser();
        Path keyFile = identity.keyFile(config.name());
        String pub = SshKeys.loginKey(keyFile, "sortie-" + identity.owner() + "-" + config.name());
        String keyName = "sortie-" + identity.owner() + "-" + config.name() + "-" + shortHash(SshKeys.bare(pub));
        return new Plan(type, image, user, keyName, keyFile, pub);
    }

    /** What every launch of this process shares: the plan, the key pair imported, the security group made. */
    private record Prepared(Plan plan, String securityGroup, AwsCloud.Vpc vpc) {
    }

    private final Map<String, Prepared> prepared = new java.util.HashMap<>();

    /**
     * The plan, key pair and security group for a type, made once per process and type: launches in parallel
     * ({@code up -n 4}, a queue) must not each make the login key or the group.
     */
    private synchronized Prepared prepare(String typeName) throws IOException {
        Prepared p = prepared.get(typeName);
        if (p == null) {
            Plan plan = plan(typeName);
            TestPause.at("key-pair");
            cloud.ensureKeyPair(plan.keyName(), SshKeys.bare(plan.publicKey()));
            AwsCloud.Vpc vpc = cloud.vpc(config.subnet());
            String from = config.sshFrom() != null ? config.sshFrom()
                    : config.privateIp() ? (vpc.cidr() != null ? vpc.cidr() : "10.0.0.0/8") : AwsCloud.publicAddress();
            TestPause.at("security-group");
            p = new Prepared(plan, cloud.ensureSecurityGroup("sortie-" + identity.owner() + "-ssh", vpc, from), vpc);
            prepared.put(typeName, p);
        }
        return p;
    }

    /** One way to launch: the first (the choice), then each fallback entry applied to it. */
    private record Attempt(String type, boolean spot, String zone, Fallback from) {
        String describe() {
            return type + (spot ? " spot" : " on-demand") + (zone == null ? "" : " in " + zone);
        }
    }

    /** Launches one instance for {@code experiment} (null: {@code sortie up}) and returns it once it is ready. */
    CloudInstance launch(TaskConfig task, String experiment, Consumer<String> say) throws IOException {
        return launch(task, experiment, false, say);
    }

    /** As {@link #launch(TaskConfig, String, Consumer)}; {@code onDemand}: on-demand even for a spot executor. */
    CloudInstance launch(TaskConfig task, String experiment, boolean onDemand, Consumer<String> say) throws IOException {
        long t0 = System.nanoTime();
        Choice choice = choose(task);
        if (onDemand && choice.spot()) {
            Prices p = pricesIfAny();
            choice = new Choice(choice.type(), p == null ? null : p.hourly(choice.type(), false, choice.zone()), false, choice.zone(),
                    choice.why());
        }
        List<Attempt> attempts = new java.util.ArrayList<>();
        attempts.add(new Attempt(choice.type(), choice.spot(), choice.zone(), null));
        for (Fallback f : config.fallback()) {
            attempts.add(new Attempt(f.instanceType() != null ? f.instanceType() : choice.type(), choice.spot() && !f.onDemand(),
                    f.zone() != null ? f.zone() : choice.zone(), f));
        }
        List<String> refused = new java.util.ArrayList<>();
        AwsException last = null;
        int goneInBoot = 0;
        for (int k = 0; k < attempts.size(); k++) {
            Attempt a = attempts.get(k);
            Prepared prep = prepare(a.type());
            String subnet = config.subnet();
            if (a.from() != null && a.from().zone() != null && subnet != null) {
                subnet = cloud.subnetIn(prep.vpc().id(), a.zone());
                if (subnet == null) {
                    refused.add(a.describe() + ": the VPC " + prep.vpc().id() + " has no subnet there");
                    say.accept("[sortie] aws: fallback " + a.from().describe() + " skipped: the VPC " + prep.vpc().id() + " has no subnet in " + a.zone());
                    continue;
                }
            }
            Double hourly = choice.hourly();
            if (a != attempts.get(0)) {
                Prices p = pricesIfAny();
                hourly = p == null ? null : p.hourly(a.type(), a.spot(), a.zone());
            }
            CloudInstance i;
            try {
                i = launchOne(prep, a, subnet, hourly, experiment, diskGb(task), say);
            } catch (AwsException e) {
                if (e.code() == null || !AwsRetries.CAPACITY.contains(e.code())) {
                    throw e;
                }
                last = e;
                refused.add(a.describe() + ": " + e.code());
                int next = attempts.indexOf(a) + 1;
                say.accept("[sortie] aws: no " + a.describe() + " (" + e.code() + ")" + (next < attempts.size()
                        ? "; trying fallback " + next + ": " + attempts.get(next).from().describe() : ""));
                continue;
            }
            say.accept(line(i.id(), "requested (" + a.type() + (a.spot() ? ", spot" : ", on-demand") + ", " + prep.plan().image().id()
                    + (a.zone() == null ? "" : ", " + a.zone()) + ", " + Prices.describe(hourly, a.spot()) + ")", t0));
            TestPause.at("launched");
            try {
                return awaitReady(i, prep.plan(), t0, say);
            } catch (GoneBeforeReady e) {
                // AWS took the instance back while it booted (spot capacity reclaimed, even before a notice could be
                // acted on): nothing ran on it, so the same launch is made again, a bounded number of times
                say.accept(line(i.id(), e.getMessage() + (a.spot() ? " (a spot instance AWS took back, say)" : ""), t0));
                if (++goneInBoot > MAX_GONE_IN_BOOT) {
                    throw new IOException(e.getMessage() + "; " + goneInBoot + " instances in a row went away before they were ready, so no"
                            + " more are launched for this run", e);
                }
                say.accept("[sortie] aws: launching another " + a.describe() + " in its place");
                k--;
            } catch (IOException | RuntimeException | Error e) {
                // nothing must outlive a launch that failed: the instance goes, whatever happened to it
                try {
                    cloud.terminate(List.of(i.id()));
                    say.accept(line(i.id(), "terminated: " + e.getMessage(), t0));
                } catch (IOException t) {
                    e.addSuppressed(t);
                }
                throw e;
            }
        }
        throw new AwsException("AWS has no capacity for this launch (or a quota is reached); tried " + refused.size() + ": "
                + String.join("; ", refused) + (config.fallback().isEmpty() ? ". A fallback list tries other zones, types or on-demand:"
                + " --fallback zone:" + config.region() + "b,on-demand" : ". Add entries to the fallback list (--fallback) or try later")
                + (last == null ? "" : " (last: " + last.getMessage() + ")"), last == null ? null : last.code(), last);
    }

    /** The root volume: the executor's --disk, else the task's resources.disk, else the image's. */
    private Integer diskGb(TaskConfig task) {
        if (config.diskGb() != null) {
            return config.diskGb();
        }
        Long bytes = task == null || task.resources() == null ? null : task.resources().diskBytes();
        return bytes == null ? null : (int) Math.max(1, (bytes + (1L << 30) - 1) >> 30);
    }

    private CloudInstance launchOne(Prepared prep, Attempt a, String subnet, Double hourly, String experiment, Integer diskGb,
            Consumer<String> say) throws IOException {
        Plan plan = prep.plan();
        SshKeys.Generated hostKey = SshKeys.generate("sortie-host");
        String userData = NodeScript.render(config.name(), hostKey, plan.sshUser(), config.remoteDir(), config.idleStop(), config.maxLifetime());
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(Tags.NAME, "sortie-" + config.name());
        tags.put(Tags.OWNER, identity.owner());
        tags.put(Tags.PROJECT, identity.project());
        tags.put(Tags.EXECUTOR, config.name());
        tags.put(Tags.EXPERIMENT, experiment == null ? "-" : experiment);
        tags.put(Tags.HOST_KEY, SshKeys.bare(hostKey.publicKey()));
        tags.put(Tags.LAUNCHER, identity.launcher());
        if (hourly != null) {
            tags.put(Tags.PRICE, String.valueOf(hourly));
        }
        AwsCloud.Launch launch = new AwsCloud.Launch(plan.image().id(), a.type(), a.spot(), subnet, subnet == null ? a.zone() : null,
                prep.securityGroup(), plan.keyName(), plan.image().rootDevice(), diskGb, userData, tags);
        return experiment == null ? run(launch) : runBounded(launch, say);
    }

    private CloudInstance run(AwsCloud.Launch launch) throws IOException {
        TestPause.at("run-instances");
        return cloud.run(launch);
    }

    /** Serialises this process's launches: a FileLock is per process, so its threads take turns before taking it. */
    private final Object launchTurn = new Object();

    /**
     * RunInstances for a run, only while the executor has fewer than {@code max_instances} live instances, counted
     * in EC2 (by its tags, so instances other sortie processes launched count) under the user's {@link LaunchLock}:
     * the bound holds across the sortie processes of one machine. At the bound it throws {@link SlotBusyException},
     * which the pool treats as a slot another process holds: it waits, takes an instance that becomes idle, or
     * launches once one is gone. (Across machines EC2 is the only shared record, with no lock: two machines can
     * still launch past the bound at the same instant.)
     */
    private CloudInstance runBounded(AwsCloud.Launch launch, Consumer<String> say) throws IOException {
        synchronized (launchTurn) {
            try (LaunchLock held = LaunchLock.acquire(identity.launchLockFile(config.name()))) {
                List<CloudInstance> live = new java.util.ArrayList<>(cloud.instances(Map.of(Tags.OWNER, identity.owner(), Tags.PROJECT,
                        identity.project(), Tags.EXECUTOR, config.name())).stream().filter(CloudInstance::alive).toList());
                // A launch whose sortie died before the instance was ready (killed while recovering a run, say) left an
                // instance nothing will use: it must not hold the bound against the launch that takes over its work.
                List<CloudInstance> abandoned = live.stream().filter(i -> !i.ready() && !Identity.launcherAlive(i.tag(Tags.LAUNCHER))).toList();
                if (!abandoned.isEmpty()) {
                    for (CloudInstance i : abandoned) {
                        say.accept("[sortie] aws " + i.id() + ": terminating, its launch never finished and the sortie that made it is gone");
                    }
                    cloud.terminate(abandoned.stream().map(CloudInstance::id).toList());
                    live.removeAll(abandoned);
                }
                if (live.size() >= config.maxInstances()) {
                    String msg = "executor " + config.name() + " has " + live.size() + " of its max_instances " + config.maxInstances()
                            + " running (" + String.join(", ", live.stream().map(CloudInstance::id).toList())
                            + "); waiting for one to be free rather than launching more";
                    say.accept("[sortie] aws " + msg);
                    throw new SlotBusyException(msg);
                }
                return run(launch);
            }
        }
    }

    /** How many instances of one launch may go away while they boot before the launch fails. */
    static final int MAX_GONE_IN_BOOT = 2;

    /** An instance that AWS terminated or stopped before it was ready. */
    static final class GoneBeforeReady extends IOException {
        GoneBeforeReady(String message) {
            super(message);
        }
    }

    private CloudInstance awaitReady(CloudInstance launched, Plan plan, long t0, Consumer<String> say) throws IOException {
        long deadline = t0 + config.bootTimeout().toNanos();
        String last = null;
        CloudInstance i = launched;
        String why = "no answer yet";
        try {
            while (true) {
                if (!i.state().equals(last)) {
                    last = i.state();
                    if (i.state().equals("pending")) {
                        say.accept(line(i.id(), "pending", t0));
                    } else if (i.running()) {
                        say.accept(line(i.id(), "booting (" + (config.privateIp() ? "private " : "") + "address " + i.address(config.privateIp()) + ")", t0));
                    } else {
                        throw new GoneBeforeReady("instance " + i.id() + " is " + i.state() + " before it was ready");
                    }
                }
                if (i.running() && i.address(config.privateIp()) != null) {
                    TestPause.at("ssh-wait");
                    SshExecutor ssh = executorFor(i, plan.sshUser());
                    try (SshConnection c = ssh.connect()) {
                        HostChannel.Result r = c.exec(List.of("test", "-e", NodeScript.READY), Duration.ofSeconds(20));
                        if (r.ok()) {
                            say.accept(line(i.id(), "node prepared, checking it", t0));
                            var report = ssh.report();
                            if (!report.canRunSortie()) {
                                throw new IOException("instance " + i.id() + " cannot run Sortie's agent:\n" + report.render());
                            }
                            TestPause.at("ready-tag");
                            cloud.tag(i.id(), Tags.READY, "true");
                            say.accept(line(i.id(), "agent ready", t0));
                            return cloud.instance(i.id());
                        }
                        why = "the node is still being prepared (user data)";
                    } catch (dev.sortie.executor.remote.channel.ChannelException e) {
                        // refused while sshd starts, or the image's own host key until the user data installs Sortie's
                        why = e.getMessage();
                        LOG.log(System.Logger.Level.DEBUG, "{0} not ready yet: {1}", i.id(), e);
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("instance " + i.id() + " did not become ready within " + Units.human(config.bootTimeout())
                            + " (" + why + ")");
                }
                Thread.sleep(500);
                CloudInstance now = cloud.instance(i.id());
                if (now == null) {
                    throw new IOException("instance " + i.id() + " vanished while booting");
                }
                i = now;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while instance " + i.id() + " was booting");
        }
    }

    /** The ssh executor of an instance: its address, the login key Sortie made, the host key it gave the instance (its tag) only. */
    SshExecutor executorFor(CloudInstance i, String sshUser) throws IOException {
        String address = i.address(config.privateIp());
        if (address == null) {
            throw new IOException("instance " + i.id() + " has no " + (config.privateIp() ? "private" : "public") + " address"
                    + (config.privateIp() ? "" : " (launch it in a subnet that gives public addresses, or connect with --private-ip)"));
        }
        return executorFor(address, 22, sshUser, i.tag(Tags.HOST_KEY), i.id());
    }

    /** The ssh executor of {@code user@address:port}, accepting only {@code hostKey} (null: none, so it cannot connect). */
    SshExecutor executorFor(String address, int port, String sshUser, String hostKey, String label) throws IOException {
        Path known = identity.knownHostsFile(config.name(), label);
        Files.createDirectories(known.getParent());
        Files.writeString(known, hostKey == null ? "" : (port == 22 ? address : "[" + address + "]:" + port) + " " + hostKey + "\n",
                StandardCharsets.UTF_8);
        SshExecutorConfig c = new SshExecutorConfig(config.name() + "/" + label, address, port, sshUser, identity.keyFile(config.name()).toString(),
                false, SshExecutorConfig.DEFAULT_CONNECT_TIMEOUT, SshExecutorConfig.DEFAULT_KEEPALIVE, config.remoteDir(), config.lostAfter());
        SshPaths paths = new SshPaths(Path.of(System.getProperty("user.home")), null, null, known, System.getProperty("user.name"), null);
        return new SshExecutor(c, paths, stateDir, store);
    }

    /** The login user of this executor's instances (the option, else the configured image's family's). */
    String sshUser(CloudInstance i) throws IOException {
        if (config.sshUser() != null) {
            return config.sshUser();
        }
        return cloud.image(config.image(), "x86_64").defaultUser();
    }

    static String line(String id, String what, long t0) {
        double s = (System.nanoTime() - t0) / 1e9;
        return "[sortie] aws " + id + ": " + what + " (" + String.format(java.util.Locale.ROOT, "%.1fs", s) + ")";
    }

    static String shortHash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
