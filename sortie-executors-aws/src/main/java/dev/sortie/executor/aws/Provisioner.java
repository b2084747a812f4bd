package dev.sortie.executor.aws;

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
    private final InstanceChooser chooser;

    Provisioner(AwsExecutorConfig config, AwsCloud cloud, Identity identity, Path stateDir, BlobStore store) {
        this.config = config;
        this.cloud = cloud;
        this.identity = identity;
        this.stateDir = stateDir;
        this.store = store;
        this.chooser = InstanceChooser.explicit(config);
    }

    /** Everything a launch resolves before RunInstances: also what {@code executor test} shows. */
    record Plan(AwsCloud.TypeInfo type, AwsCloud.ImageInfo image, String sshUser, String keyName, Path keyFile, String publicKey) {
    }

    synchronized Plan plan(TaskConfig task) throws IOException {
        String typeName = chooser.choose(task);
        AwsCloud.TypeInfo type = cloud.instanceType(typeName);
        AwsCloud.ImageInfo image = cloud.image(config.image(), type.arch());
        String user = config.sshUser() != null ? config.sshUser() : image.defaultUser();
        Path keyFile = identity.keyFile(config.name());
        String pub = SshKeys.loginKey(keyFile, "sortie-" + identity.owner() + "-" + config.name());
        String keyName = "sortie-" + identity.owner() + "-" + config.name() + "-" + shortHash(SshKeys.bare(pub));
        return new Plan(type, image, user, keyName, keyFile, pub);
    }

    /** What every launch of this process shares: the plan, the key pair imported, the security group made. */
    private record Prepared(Plan plan, String securityGroup) {
    }

    private final Map<String, Prepared> prepared = new java.util.HashMap<>();

    /**
     * The plan, key pair and security group for a type, made once per process and type: launches in parallel
     * ({@code up -n 4}, a queue) must not each make the login key or the group.
     */
    private synchronized Prepared prepare(TaskConfig task) throws IOException {
        String key = chooser.choose(task);
        Prepared p = prepared.get(key);
        if (p == null) {
            Plan plan = plan(task);
            TestPause.at("key-pair");
            cloud.ensureKeyPair(plan.keyName(), SshKeys.bare(plan.publicKey()));
            AwsCloud.Vpc vpc = cloud.vpc(config.subnet());
            String from = config.sshFrom() != null ? config.sshFrom()
                    : config.privateIp() ? (vpc.cidr() != null ? vpc.cidr() : "10.0.0.0/8") : AwsCloud.publicAddress();
            TestPause.at("security-group");
            p = new Prepared(plan, cloud.ensureSecurityGroup("sortie-" + identity.owner() + "-ssh", vpc, from));
            prepared.put(key, p);
        }
        return p;
    }

    /** Launches one instance for {@code experiment} (null: {@code sortie up}) and returns it once it is ready. */
    CloudInstance launch(TaskConfig task, String experiment, Consumer<String> say) throws IOException {
        long t0 = System.nanoTime();
        Prepared prep = prepare(task);
        Plan plan = prep.plan();
        String group = prep.securityGroup();
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
        AwsCloud.Launch launch = new AwsCloud.Launch(plan.image().id(), plan.type().name(), config.spot(), config.subnet(), group,
                plan.keyName(), plan.image().rootDevice(), config.diskGb(), userData, tags);
        CloudInstance i = experiment == null ? run(launch) : runBounded(launch, say);
        say.accept(line(i.id(), "requested (" + plan.type().name() + (config.spot() ? ", spot" : ", on-demand") + ", " + plan.image().id() + ")", t0));
        TestPause.at("launched");
        try {
            return awaitReady(i, plan, t0, say);
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
                List<CloudInstance> live = cloud.instances(Map.of(Tags.OWNER, identity.owner(), Tags.PROJECT, identity.project(),
                        Tags.EXECUTOR, config.name())).stream().filter(CloudInstance::alive).toList();
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
                        throw new IOException("instance " + i.id() + " is " + i.state() + " before it was ready");
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
