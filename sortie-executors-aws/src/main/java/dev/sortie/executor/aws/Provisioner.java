package dev.sortie.executor.aws;

import dev.sortie.core.config.Resources;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.Units;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.util.HeldFileLock;
import dev.sortie.core.util.TestPause;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.HostProbe;
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
    private final Volumes volumes;
    private Prices prices;
    private List<AwsCloud.TypeInfo> types;
    /** The lookups a launch needs, each made once per process (a failed one is tried again), see {@link #once}. */
    private final Map<String, java.util.concurrent.CompletableFuture<Object>> lookups = new java.util.HashMap<>();
    /** The ssh executors that found launched instances ready, logged in and installing the agent: the slot's to take. */
    private final Map<String, Login> logins = new java.util.HashMap<>();

    /** A launch's login to its instance and the agent's install on it (done, however it ended, when complete). */
    private record Login(SshExecutor ssh, java.util.concurrent.CompletableFuture<Void> installed) {
    }

    Provisioner(AwsExecutorConfig config, AwsCloud cloud, Identity identity, Path stateDir, BlobStore store, Volumes volumes) {
        this(config, cloud, identity, stateDir, store, PriceCache.user(), volumes);
    }

    Provisioner(AwsExecutorConfig config, AwsCloud cloud, Identity identity, Path stateDir, BlobStore store, PriceCache priceCache,
                Volumes volumes) {
        this.config = config;
        this.cloud = cloud;
        this.identity = identity;
        this.stateDir = stateDir;
        this.store = store;
        this.priceCache = priceCache;
        this.volumes = volumes;
    }

    /** Everything a launch resolves before RunInstances: also what {@code executor test} shows. */
    record Plan(AwsCloud.TypeInfo type, AwsCloud.ImageInfo image, String sshUser, String keyName, Path keyFile, String publicKey) {
    }

    /** The type a launch asks for, its hourly price where it launches (null: unknown), the zone it prices and why. */
    record Choice(String type, Double hourly, boolean spot, String zone, String why) {
    }

    /** A lookup that may throw what AWS answered. */
    private interface Lookup<T> {
        T get() throws IOException;
    }

    /**
     * The value of lookup {@code key}, made by the first caller and waited for by the others (a prefetch on the
     * warm-up thread and the launch share one call); a lookup that failed is made again by the next caller.
     */
    @SuppressWarnings("unchecked")
    private <T> T once(String key, Lookup<T> lookup) throws IOException {
        java.util.concurrent.CompletableFuture<Object> f;
        boolean mine = false;
        synchronized (lookups) {
            f = lookups.get(key);
            if (f == null) {
                f = new java.util.concurrent.CompletableFuture<>();
                lookups.put(key, f);
                mine = true;
            }
        }
        if (mine) {
            try {
                T value = lookup.get();
                f.complete(value);
                return value;
            } catch (IOException | RuntimeException | Error e) {
                synchronized (lookups) {
                    lookups.remove(key);
                }
                f.completeExceptionally(e);
                throw e;
            }
        }
        try {
            return (T) f.join();
        } catch (java.util.concurrent.CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof AwsException aws) {
                throw new AwsException(aws.getMessage(), aws.code(), aws);
            }
            if (c instanceof IOException io) {
                throw new IOException(io.getMessage(), io);
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(c.getMessage(), c);
        }
    }

    /**
     * Starts, each on a thread of its own, the lookups of a launch that do not depend on the run (prices, the
     * subnet's zone and VPC, the configured type's plan: type, image, login key; or the region's types): the warm-up
     * calls it when there is no idle instance, while the CLI still prepares the run, and the launch then finds them
     * made or under way. Read-only: nothing is created in AWS before the launch.
     */
    void prefetch() {
        List<Lookup<?>> all = new java.util.ArrayList<>();
        all.add(this::pricesIfAny);
        if (config.subnet() != null) {
            all.add(this::subnetZone);
        }
        all.add(this::vpc);
        all.add(config.instanceType() != null ? () -> plan(config.instanceType()) : this::types);
        for (Lookup<?> l : all) {
            Thread t = new Thread(() -> {
                try {
                    l.get();
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "prefetch for {0} failed (the launch asks again): {1}", config.name(), e.toString());
                }
            }, "sortie-aws-prefetch");
            t.setDaemon(true);
            t.start();
        }
    }

    /** The region's prices (the cache's, fetched once a day), once per process. */
    Prices prices() throws IOException {
        return once("prices", () -> {
            Prices p = priceCache.get(config.region(), cloud::fetchPrices);
            dev.sortie.core.util.Trace.mark("aws: prices of " + config.region());
            return p;
        });
    }

    private String subnetZone() throws IOException {
        return once("zone", () -> cloud.subnetZone(config.subnet()));
    }

    private AwsCloud.Vpc vpc() throws IOException {
        return once("vpc", () -> cloud.vpc(config.subnet()));
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

    private List<AwsCloud.TypeInfo> types() throws IOException {
        return once("types", cloud::instanceTypes);
    }

    /**
     * The type to launch for {@code task} (null: the project's task is not known, e.g. {@code sortie up} outside a
     * project): the executor's explicit type, else the cheapest that fits the task's resources at the executor's market.
     * The zone priced is the subnet's; with no subnet, a spot launch goes to the cheapest zone of its type.
     */
    synchronized Choice choose(TaskConfig task) throws IOException {
        boolean spot = config.spot();
        String subnetZone = config.subnet() == null ? null : subnetZone();
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

    Plan plan(String typeName) throws IOException {
        return once("plan " + typeName, () -> planNow(typeName));
    }

    private Plan planNow(String typeName) throws IOException {
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
            dev.sortie.core.util.Trace.mark("aws: planned " + typeName);
            // the key pair and the security group are independent: made side by side
            java.util.concurrent.CompletableFuture<Void> keyPair = new java.util.concurrent.CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    TestPause.at("key-pair");
                    cloud.ensureKeyPair(plan.keyName(), SshKeys.bare(plan.publicKey()));
                    keyPair.complete(null);
                } catch (IOException | RuntimeException | Error e) {
                    keyPair.completeExceptionally(e);
                }
            }, "sortie-aws-key-pair");
            t.setDaemon(true);
            t.start();
            AwsCloud.Vpc vpc = vpc();
            String from = config.sshFrom() != null ? config.sshFrom()
                    : config.privateIp() ? (vpc.cidr() != null ? vpc.cidr() : "10.0.0.0/8") : AwsCloud.publicAddress();
            TestPause.at("security-group");
            String group = cloud.ensureSecurityGroup("sortie-" + identity.owner() + "-ssh", vpc, from);
            try {
                keyPair.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
            p = new Prepared(plan, group, vpc);
            prepared.put(typeName, p);
        }
        return p;
    }

    /** RunInstances tries while EC2 does not know a new instance profile yet, and the pause between them. */
    static final int PROFILE_TRIES = 15;
    static final java.time.Duration PROFILE_RETRY = java.time.Duration.ofSeconds(2);

    /** The instance profile for the store, made once per process; null when the store stays on this machine. */
    private String storeProfile;

    /**
     * With the project's store in S3, the instance profile whose role may use only that bucket's prefix (see {@link
     * InstanceRole}): the node's agent saves checkpoints into the store itself. Null for a local store.
     */
    private synchronized String storeProfile() throws IOException {
        if (storeProfile == null && store != null && store.nodeSpec().isPresent()) {
            TestPause.at("instance-role");
            storeProfile = InstanceRole.ensure(config.name(), store.nodeSpec().get().url());
        }
        return storeProfile;
    }

    /** The store's URL when the project's store is one the instances use themselves (S3), else null. */
    String nodeStoreUrl() {
        return store != null && store.nodeSpec().isPresent() ? store.nodeSpec().get().url() : null;
    }

    /**
     * Makes the store's instance profile again: another sortie's {@code down} may have deleted it (no instance used it
     * then) since this process made it.
     */
    private synchronized String storeProfileAgain() throws IOException {
        storeProfile = null;
        return storeProfile();
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
        // A named volume is bound to its zone: the launch goes there (a fallback to another zone runs without it).
        CloudVolume volume = config.volume() == null ? null : volumes.claim(task, choice.zone(), say);
        String zone = volume != null ? volume.zone() : choice.zone();
        dev.sortie.core.util.Trace.mark("aws: chose " + choice.type());
        List<Attempt> attempts = new java.util.ArrayList<>();
        attempts.add(new Attempt(choice.type(), choice.spot(), zone, null));
        for (Fallback f : config.fallback()) {
            attempts.add(new Attempt(f.instanceType() != null ? f.instanceType() : choice.type(), choice.spot() && !f.onDemand(),
                    f.zone() != null ? f.zone() : zone, f));
        }
        try {
            return launchAttempts(task, experiment, say, t0, choice, attempts, volume);
        } finally {
            if (volume != null) {
                volumes.release(volume.id()); // attached by now, or never will be by this launch
            }
        }
    }

    private CloudInstance launchAttempts(TaskConfig task, String experiment, Consumer<String> say, long t0, Choice choice,
                                         List<Attempt> attempts, CloudVolume claimed) throws IOException {
        List<String> refused = new java.util.ArrayList<>();
        AwsException last = null;
        int goneInBoot = 0;
        for (int k = 0; k < attempts.size(); k++) {
            Attempt a = attempts.get(k);
            Prepared prep = prepare(a.type());
            dev.sortie.core.util.Trace.mark("aws: prepared " + a.type() + " (image, key pair, security group)");
            String subnet = config.subnet();
            CloudVolume volume = claimed != null && claimed.zone().equals(a.zone()) ? claimed : null;
            if (claimed != null && volume == null) {
                say.accept("[sortie] aws: " + a.describe() + " is not in " + claimed.zone() + ", where volume " + config.volume().name()
                        + " (" + claimed.id() + ") is: this instance runs without it");
            }
            if (volume != null && subnet != null && !volume.zone().equals(cloud.subnetZone(subnet))) {
                subnet = cloud.subnetIn(prep.vpc().id(), volume.zone());
                if (subnet == null) {
                    say.accept("[sortie] aws: the VPC " + prep.vpc().id() + " has no subnet in " + volume.zone() + ", where volume "
                            + config.volume().name() + " (" + volume.id() + ") is: this instance runs without it");
                    subnet = config.subnet();
                    volume = null;
                    a = new Attempt(a.type(), a.spot(), choice.zone(), a.from());
                }
            }
            if (a.from() != null && a.from().zone() != null && subnet != null) {
                subnet = cloud.subnetIn(prep.vpc().id(), a.zone());
                if (subnet == null) {
                    refused.add(a.describe() + ": the VPC " + prep.vpc().id() + " has no subnet there");
                    say.accept("[sortie] aws: fallback " + a.from().describe() + " skipped: the VPC " + prep.vpc().id() + " has no subnet in " + a.zone());
                    continue;
                }
            }
            Double hourly = choice.hourly();
            if (a != attempts.get(0) || !java.util.Objects.equals(a.zone(), choice.zone())) {
                Prices p = pricesIfAny();
                hourly = p == null ? null : p.hourly(a.type(), a.spot(), a.zone());
            }
            CloudInstance i;
            try {
                i = launchOne(prep, a, subnet, hourly, experiment, diskGb(task), volume, say);
            } catch (AwsException e) {
                if (e.code() == null || !AwsRetries.CAPACITY.contains(e.code())) {
                    throw e;
                }
                last = e;
                refused.add(a.describe() + ": " + e.code());
                int next = indexOf(attempts, a) + 1;
                say.accept("[sortie] aws: no " + a.describe() + " (" + e.code() + ")" + (next < attempts.size()
                        ? "; trying fallback " + next + ": " + attempts.get(next).from().describe() : ""));
                continue;
            }
            say.accept(line(i.id(), "requested (" + a.type() + (a.spot() ? ", spot" : ", on-demand") + ", " + prep.plan().image().id()
                    + (a.zone() == null ? "" : ", " + a.zone()) + ", " + Prices.describe(hourly, a.spot()) + ")", t0));
            TestPause.at("launched");
            try {
                return awaitReady(i, prep.plan(), t0, volume, say);
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

    private static int indexOf(List<Attempt> attempts, Attempt a) {
        for (int k = 0; k < attempts.size(); k++) {
            if (attempts.get(k).from() == a.from()) {
                return k;
            }
        }
        return attempts.size();
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
            CloudVolume volume, Consumer<String> say) throws IOException {
        Plan plan = prep.plan();
        SshKeys.Generated hostKey = SshKeys.generate("sortie-host");
        String userData = NodeScript.render(config.name(), hostKey, plan.sshUser(), config.remoteDir(), config.idleStop(), config.maxLifetime(),
                volume == null ? null : volume.id());
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
        String profile = storeProfile();
        if (profile != null) {
            launch = launch.withInstanceProfile(profile);
        }
        // IAM is eventually consistent: EC2 refuses a profile made seconds ago (InvalidParameterValue naming
        // iamInstanceProfile) until it sees it, usually within 10 s; nothing was launched, so the request is repeated
        for (int tries = 1; ; tries++) {
            try {
                return experiment == null ? run(launch) : runBounded(launch, say);
            } catch (AwsException e) {
                if (profile == null || !InstanceRole.notYetVisible(e) || tries >= PROFILE_TRIES) {
                    throw e;
                }
                say.accept("[sortie] aws: EC2 does not know the instance profile " + profile + " yet (IAM takes a few seconds);"
                        + " asking again");
                if (tries == 1) {
                    storeProfileAgain();
                }
                try {
                    Thread.sleep(PROFILE_RETRY.toMillis());
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for the instance profile " + profile);
                }
            }
        }
    }

    private CloudInstance run(AwsCloud.Launch launch) throws IOException {
        TestPause.at("run-instances");
        return cloud.run(launch);
    }

    /**
     * The lock every sortie process of this user takes, per project and executor, around "count the executor's live
     * instances, launch one if under {@code max_instances}": two processes draining queues on one machine then cannot
     * both see room for one more and both launch. In the user's aws config folder; held for the count and the
     * RunInstances call only (a fraction of a second), never while an instance boots.
     */
    private HeldFileLock launchLock() throws IOException {
        java.nio.file.Path file = identity.launchLockFile(config.name());
        try {
            return HeldFileLock.acquire(file);
        } catch (java.io.InterruptedIOException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot lock " + file + " (the launch bound of max_instances across sortie processes): " + e.getMessage(), e);
        }
    }

    /** Serialises this process's launches: a FileLock is per process, so its threads take turns before taking it. */
    private final Object launchTurn = new Object();

    /**
     * RunInstances for a run, only while the executor has fewer than {@code max_instances} live instances, counted
     * in EC2 (by its tags, so instances other sortie processes launched count) under the user's launch lock ({@link #launchLock()}):
     * the bound holds across the sortie processes of one machine. At the bound it throws {@link SlotBusyException},
     * which the pool treats as a slot another process holds: it waits, takes an instance that becomes idle, or
     * launches once one is gone. (Across machines EC2 is the only shared record, with no lock: two machines can
     * still launch past the bound at the same instant.)
     */
    private CloudInstance runBounded(AwsCloud.Launch launch, Consumer<String> say) throws IOException {
        synchronized (launchTurn) {
            try (HeldFileLock held = launchLock()) {
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

    /**
     * Waits until a launched instance is ready: running, reachable over SSH with the host key Sortie gave it, its user
     * data done ({@link NodeScript#READY}), able to run the agent; then tags it ready. The login that found it ready is
     * kept for the run ({@link #takeLogin}), and the agent's jars go up on it from the moment the first login
     * succeeds, beside the wait for the user data, the node check and the ready tag (the launch then finds them there).
     */
    private CloudInstance awaitReady(CloudInstance launched, Plan plan, long t0, CloudVolume volume, Consumer<String> say) throws IOException {
        long deadline = t0 + config.bootTimeout().toNanos();
        String last = null;
        CloudInstance i = launched;
        String why = "no answer yet";
        // a volume the node waits for but will not get (AWS refused the attachment): the node is told, once it answers
        String notComing = null;
        SshExecutor ssh = null;
        java.util.concurrent.CompletableFuture<Void> installing = null;
        try {
            while (true) {
                if (!i.state().equals(last)) {
                    last = i.state();
                    if (i.state().equals("pending")) {
                        say.accept(line(i.id(), "pending", t0));
                    } else if (i.running()) {
                        say.accept(line(i.id(), "booting (" + (config.privateIp() ? "private " : "") + "address " + i.address(config.privateIp()) + ")", t0));
                        if (volume != null && volumes.attach(volume, i.id(), say)) {
                            say.accept(line(i.id(), "volume " + config.volume().name() + " (" + volume.id() + ", " + volume.sizeGb() + " GiB) attached as "
                                    + Volumes.DEVICE, t0));
                        } else if (volume != null) {
                            notComing = volume.id();
                        }
                    } else {
                        throw new GoneBeforeReady("instance " + i.id() + " is " + i.state() + " before it was ready");
                    }
                }
                if (i.running() && i.address(config.privateIp()) != null) {
                    TestPause.at("ssh-wait");
                    if (ssh == null) {
                        ssh = executorFor(i, plan.sshUser());
                    }
                    try {
                        ssh.host().forgetFailure(); // a booting host refuses until sshd is up: each poll tries again
                        HostChannel c = ssh.host().connection(false);
                        if (installing == null) {
                            installing = installAgent(ssh, i.id());
                        }
                        if (notComing != null) {
                            c.exec(List.of("touch", NodeScript.noVolumeMarker(notComing)), Duration.ofSeconds(20));
                            notComing = null;
                        }
                        HostChannel.Result r = c.exec(List.of("test", "-e", NodeScript.READY), Duration.ofSeconds(20));
                        if (r.ok()) {
                            say.accept(line(i.id(), "node prepared, checking it", t0));
                            // the probe on this channel, not through the executor: the agent's upload holds the host
                            var report = HostProbe.probe(c, config.remoteDir());
                            if (!report.canRunSortie()) {
                                throw new IOException("instance " + i.id() + " cannot run Sortie's agent:\n" + report.render());
                            }
                            TestPause.at("ready-tag");
                            cloud.tag(i.id(), Tags.READY, "true");
                            say.accept(line(i.id(), "agent ready", t0));
                            CloudInstance ready = cloud.instance(i.id());
                            synchronized (logins) {
                                logins.put(i.id(), new Login(ssh, installing));
                            }
                            ssh = null;
                            return ready;
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
                // a booting instance is looked at often at first (most boot in seconds), then every half second
                Thread.sleep(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos() ? 200 : 500);
                CloudInstance now = cloud.instance(i.id());
                if (now == null) {
                    throw new IOException("instance " + i.id() + " vanished while booting");
                }
                i = now;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while instance " + i.id() + " was booting");
        } finally {
            if (ssh != null) {
                ssh.close(); // not ready: its login (and an upload under way) ends with it
            }
        }
    }

    /** Puts the agent on a new instance on a thread of its own (its failures are the launch's to meet again and report). */
    private static java.util.concurrent.CompletableFuture<Void> installAgent(SshExecutor ssh, String id) {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                ssh.warmUp(); // agent jars by hash, host shell
                dev.sortie.core.util.Trace.mark("aws: agent installed on " + id);
            } finally {
                done.complete(null);
            }
        }, "sortie-aws-agent-install");
        t.setDaemon(true);
        t.start();
        return done;
    }

    /** The login that found instance {@code id} ready (its agent installed or going up), once; null when there is none. */
    SshExecutor takeLogin(String id) {
        synchronized (logins) {
            Login l = logins.remove(id);
            return l == null ? null : l.ssh();
        }
    }

    /**
     * Closes the logins no run took ({@code sortie up}'s instances), once their agent installs ended (within
     * {@code wait}): an instance brought up is then hot with its agent, and its first run sends none.
     */
    void closeLogins(Duration wait) {
        List<Login> left;
        synchronized (logins) {
            left = List.copyOf(logins.values());
            logins.clear();
        }
        long until = System.nanoTime() + wait.toNanos();
        for (Login l : left) {
            try {
                l.installed().get(Math.max(0, until - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                LOG.log(System.Logger.Level.DEBUG, "the agent install on {0} did not end in time: {1}", l.ssh().name(), e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            l.ssh().close();
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
        SshExecutor ssh = new SshExecutor(c, paths, stateDir, store);
        ssh.storeOnNode(); // with an S3 store the node saves into it itself, with its instance profile's credentials
        return ssh;
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
