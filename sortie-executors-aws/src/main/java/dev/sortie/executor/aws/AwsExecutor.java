package dev.sortie.executor.aws;

import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.DetachedExecution;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.LaunchRequest;
import dev.sortie.core.executor.Provisioning;
import dev.sortie.core.executor.SalvageRequest;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.RunLocator;
import dev.sortie.executor.remote.pool.HostSearch;
import dev.sortie.executor.remote.pool.PoolExecutor;
import dev.sortie.executor.ssh.SshExecutor;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * EC2 instances that Sortie launches, reuses and terminates, each a host of the remote-run path once it answers
 * (a {@link SshExecutor} per instance, reached with the key pair Sortie made and the host key it gave the instance).
 * Its instances are the members of a {@link PoolExecutor} of {@code max_instances} {@link InstanceSlot}s: the
 * pool's allocation, waiting and host-down logic decides where a run goes; a free slot takes an idle instance or
 * launches one. EC2's tags are the record of which instances are whose: nothing about them is kept on this machine
 * but the login key and the known_hosts lines derived from the tags.
 */
public final class AwsExecutor implements DetachableExecutor, Provisioning {
    private static final System.Logger LOG = System.getLogger(AwsExecutor.class.getName());
    /** {@code user@address:port}, as an ssh executor names its host in run handles. */
    private static final Pattern HOST_KEY = Pattern.compile("([^@\\s]+)@([^:\\s]+):(\\d+).*");
    private final AwsExecutorConfig config;
    private final java.nio.file.Path projectDir;
    private final AwsCloud cloud;
    private final Identity identity;
    private final Provisioner provisioner;
    private final Volumes volumes;
    private final PoolExecutor pool;
    private final List<InstanceSlot> slots = new ArrayList<>();
    private final Set<String> claimed = new HashSet<>();
    private final Set<String> doomed = new HashSet<>();
    private final Map<String, Long> busyElsewhere = new HashMap<>();
    private final Map<String, SshExecutor> others = new LinkedHashMap<>();
    /** The idle instance {@link #warmUp()} claimed and logged into (null: none), for the first free slot; taken once. */
    private java.util.concurrent.CompletableFuture<Warm> warm;
    private boolean warmTaken;

    /**
     * An idle instance claimed at the warm-up and the ssh executor that already logged into it; both null when the
     * warm-up asked EC2 and there was none (the launch need not ask again a moment later).
     */
    record Warm(CloudInstance instance, SshExecutor ssh) {
        static final Warm NONE = new Warm(null, null);
    }

    AwsExecutor(AwsExecutorConfig config, ExecutorContext context) {
        this.config = config;
        this.projectDir = context == null ? null : context.projectDir();
        this.cloud = new AwsCloud(config.region());
        this.identity = Identity.of(context == null ? null : context.projectDir());
        this.volumes = new Volumes(config, cloud, identity, projectDir);
        this.provisioner = new Provisioner(config, cloud, identity, context == null ? null : context.stateDir(),
                context == null ? null : context.store(), volumes);
        for (int i = 0; i < config.maxInstances(); i++) {
            slots.add(new InstanceSlot(this, i));
        }
        this.pool = new PoolExecutor(config.name(), AwsExecutorProvider.TYPE, slots, 1, null);
    }

    /**
     * The project's task (sortie.yaml), whose resources choose the type when the executor names none: what {@code up}
     * and {@code executor test} launch. Null outside a project or when it cannot be read (its errors are the run's).
     */
    TaskConfig projectTask() {
        if (projectDir == null || !java.nio.file.Files.isRegularFile(projectDir.resolve("sortie.yaml"))) {
            return null;
        }
        try {
            return dev.sortie.core.config.TaskConfigLoader.load(projectDir);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot read the task of {0}: {1}", projectDir, e.toString());
            return null;
        }
    }

    AwsExecutorConfig config() {
        return config;
    }

    AwsCloud cloud() {
        return cloud;
    }

    Provisioner provisioner() {
        return provisioner;
    }

    Identity identity() {
        return identity;
    }

    Volumes namedVolumes() {
        return volumes;
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return AwsExecutorProvider.TYPE;
    }

    // ---------------------------------------------------------------- instances of this executor

    /** The tags that make an instance this executor's. */
    private Map<String, String> mine() {
        return Map.of(Tags.OWNER, identity.owner(), Tags.PROJECT, identity.project(), Tags.EXECUTOR, config.name());
    }

    /** An idle instance for a free slot: running, ready, held by no slot of this process nor lately busy elsewhere. */
    CloudInstance claimIdle() throws IOException {
        return claimIdle(null, false);
    }

    /**
     * As {@link #claimIdle()}, taking instance {@code prefer} when it is one of the idle ones, and only an on-demand
     * one when {@code onDemandOnly} (a run past {@code on_demand_after}).
     */
    CloudInstance claimIdle(String prefer, boolean onDemandOnly) throws IOException {
        return claimIdle(prefer, onDemandOnly, cloud.instances(mine()));
    }

    /** As {@link #claimIdle(String, boolean)}, among {@code instances} (the executor's, as DescribeInstances just gave them). */
    synchronized CloudInstance claimIdle(String prefer, boolean onDemandOnly, List<CloudInstance> instances) {
        long now = System.nanoTime();
        busyElsewhere.values().removeIf(until -> until < now);
        CloudInstance first = null;
        for (CloudInstance i : instances) {
            if (i.running() && i.ready() && !claimed.contains(i.id()) && !doomed.contains(i.id()) && !busyElsewhere.containsKey(i.id())
                    && i.tag(Tags.INTERRUPTED) == null && !(onDemandOnly && i.spot())) {
                if (first == null || i.id().equals(prefer)) {
                    first = i;
                }
            }
        }
        if (first != null) {
            claimed.add(first.id());
        }
        return first;
    }

    /**
     * An instance that was interrupted or lost under a run: never claimed again by this process, and terminated now.
     * After a notice the run's end and last checkpoint are collected already, and AWS would take the instance at the
     * notice's time anyway: until then it would count against max_instances and hold up the replacement (and bill). A
     * lost instance may still run unseen (a network cut): terminating it keeps two copies of the run from training.
     */
    void doomed(String id) {
        synchronized (this) {
            if (!doomed.add(id)) {
                return;
            }
        }
        forget(id); // the next run's direct login (which asks no EC2 tag) must not go to it either
        try {
            cloud.tag(id, Tags.INTERRUPTED, java.time.Instant.now().toString());
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "could not tag instance {0} of {1} interrupted: {2}", id, name(), e.toString());
        }
        try {
            cloud.terminate(List.of(id));
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "could not terminate instance {0} of {1}, which was interrupted or lost: {2}", id, name(), e.toString());
        }
    }

    synchronized void claimed(String id) {
        claimed.add(id);
    }

    synchronized void released(String id) {
        claimed.remove(id);
    }

    synchronized void busyElsewhere(String id) {
        busyElsewhere.put(id, System.nanoTime() + PoolExecutor.BUSY_RETRY.toNanos());
    }

    /** Whether an instance is gone or going (AWS says so, or no longer knows it); false when AWS cannot be asked. */
    boolean gone(CloudInstance i) {
        try {
            CloudInstance now = cloud.instance(i.id());
            boolean gone = now == null || !now.alive();
            if (gone) {
                forget(i.id());
            }
            return gone;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot tell whether {0} is gone: {1}", i.id(), e);
            return false;
        }
    }

    // ---------------------------------------------------------------- runs

    /** How long the warm-up waits for a fresh hint's login to confirm its instance before it asks EC2 as well. */
    static final Duration DIRECT_WAIT = Duration.ofSeconds(3);

    /**
     * While the caller prepares the run: finds an idle instance, claims it and logs into it (connection, agent,
     * shell), as an ssh executor's warm-up does for its host, so that a run on a hot instance waits for none of these
     * at its launch. The first free slot's launch takes what this found.
     *
     * <p>The instance this machine last saw ready ({@link InstanceHint}) is logged into at once and confirmed on the
     * instance itself ({@link HotLogin}: host key and instance id); when the hint is younger than the idle stop, EC2
     * is not asked at all once that succeeds (the SDK's client start and DescribeInstances were most of a hot run's
     * overhead). Otherwise, or when the login fails or takes longer than {@link #DIRECT_WAIT}, EC2 decides as before:
     * DescribeInstances names the idle instances, and the login under way is used when it is one of them.
     */
    @Override
    public void warmUp() {
        pool.warmUp();
        java.util.concurrent.CompletableFuture<Warm> f = new java.util.concurrent.CompletableFuture<>();
        synchronized (this) {
            if (warm != null || warmTaken) {
                return;
            }
            warm = f;
        }
        InstanceHint hint = InstanceHint.read(hintFile());
        HotLogin guess = hint == null ? null : startLogin(hint);
        Warm found = null;
        CloudInstance idle = null;
        IOException failed = null;
        java.util.concurrent.CompletableFuture<List<CloudInstance>> looked = null;
        try {
            if (guess != null && hint.fresh(Instant.now(), config.idleStop())
                    && (config.sshUser() == null || config.sshUser().equals(hint.user()))) {
                Boolean ok = guess.await(DIRECT_WAIT);
                if (ok == null) {
                    // no answer yet (a loaded machine, or an address that drops packets): EC2 is asked beside the
                    // login, and the login is taken if it confirms the instance before EC2 answers
                    java.util.concurrent.CompletableFuture<List<CloudInstance>> look = new java.util.concurrent.CompletableFuture<>();
                    Thread t = new Thread(() -> {
                        try {
                            look.complete(cloud.instances(mine()));
                        } catch (IOException | RuntimeException e) {
                            look.completeExceptionally(e);
                        }
                    }, "sortie-aws-look");
                    t.setDaemon(true);
                    t.start();
                    java.util.concurrent.CompletableFuture.anyOf(look, guess.confirmed()).exceptionally(e -> null).join();
                    ok = guess.confirmed().getNow(null);
                    if (!Boolean.TRUE.equals(ok)) {
                        looked = look;
                    }
                }
                if (Boolean.TRUE.equals(ok) && claimDirect(hint.id())) {
                    found = new Warm(hint.instance(config.privateIp()), guess.ssh());
                    guess = null;
                    dev.sortie.core.util.Trace.mark("aws: idle instance " + hint.id() + " (direct, EC2 not asked)");
                    return;
                }
                if (Boolean.FALSE.equals(ok)) {
                    InstanceHint.forget(hintFile(), hint.id()); // gone, or not that instance any more: EC2 decides
                }
            }
            String prefer = guess == null ? null : guess.hint().id();
            if (looked != null) {
                try {
                    idle = claimIdle(prefer, false, looked.join());
                } catch (java.util.concurrent.CompletionException e) {
                    throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
                }
            } else {
                idle = claimIdle(prefer, false);
            }
            if (idle != null) {
                dev.sortie.core.util.Trace.mark("aws: idle instance " + idle.id());
                if (guess != null && fits(guess.hint(), idle)) {
                    found = new Warm(idle, guess.ssh());
                    guess.join(); // the login that overlapped DescribeInstances
                    guess = null;
                } else {
                    SshExecutor ssh = executorFor(idle);
                    found = new Warm(idle, ssh);
                    ssh.warmUp(); // its failures are its launch's to meet again and report
                }
            } else {
                found = Warm.NONE;
                provisioner.prefetch(); // a launch is likely: its lookups while the CLI prepares the run
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "warm-up of {0} failed: {1}", name(), e);
            if (idle != null && found == null) {
                released(idle.id()); // claimed but not handed over: the launch's own look may take it
            }
            // AWS's answer (credentials, region, throttling after the SDK's retries) is the launch's to report,
            // not to wait for a second time; anything else, the launch looks again
            failed = e instanceof IOException io ? io : null;
        } finally {
            if (failed != null) {
                f.completeExceptionally(failed);
            } else {
                f.complete(found);
            }
            if (guess != null) {
                guess.discard(); // not the idle instance: its login, when done, is closed
            }
        }
    }

    /** The login to a hinted instance, started now; null when its ssh executor cannot be made. */
    private HotLogin startLogin(InstanceHint hint) {
        try {
            return HotLogin.start(hint, provisioner.executorFor(hint.address(), 22, hint.user(), hint.hostKey(), hint.id()));
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no login to the hinted instance {0}: {1}", hint.id(), e);
            return null;
        }
    }

    /** Whether the hinted instance is the idle instance AWS named, at the address and with the host key its tags give. */
    private boolean fits(InstanceHint h, CloudInstance i) {
        return h.id().equals(i.id()) && h.address().equals(i.address(config.privateIp())) && h.hostKey().equals(i.tag(Tags.HOST_KEY))
                && (config.sshUser() == null || config.sshUser().equals(h.user()));
    }

    /** Claims an instance confirmed without EC2, unless a slot of this process holds it or it is lately busy elsewhere. */
    private synchronized boolean claimDirect(String id) {
        long now = System.nanoTime();
        busyElsewhere.values().removeIf(until -> until < now);
        if (claimed.contains(id) || busyElsewhere.containsKey(id)) {
            return false;
        }
        claimed.add(id);
        return true;
    }

    /** Where this machine keeps the instance of this executor it last saw ready ({@link InstanceHint}). */
    java.nio.file.Path hintFile() {
        return InstanceHint.file(identity, config.name());
    }

    /** Remembers a ready instance a slot bound, logged into as {@code user}, for the next run's direct login. */
    void remember(CloudInstance i, String user) {
        if (i.ready() && i.tag(Tags.HOST_KEY) != null && i.address(config.privateIp()) != null) {
            InstanceHint.of(i, user, config.privateIp(), Instant.now()).write(hintFile());
        }
    }

    /** Forgets the hint when it names an instance found gone. */
    void forget(String id) {
        InstanceHint.forget(hintFile(), id);
    }

    /**
     * The idle instance the warm-up claimed and logged into, once (waiting for a warm-up under way: it has done
     * part of the work already), or null when there was no warm-up or it found none.
     */
    Warm takeWarm() throws IOException {
        java.util.concurrent.CompletableFuture<Warm> f;
        synchronized (this) {
            if (warmTaken) {
                return null;
            }
            warmTaken = true;
            f = warm;
        }
        if (f == null) {
            return null;
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while looking for an idle instance of " + name());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AwsException aws) {
                throw new AwsException(aws.getMessage(), aws.code(), aws);
            }
            if (e.getCause() instanceof IOException io) {
                throw new IOException(io.getMessage(), io);
            }
            return null; // not reached: the warm-up fails with an IOException only
        }
    }

    @Override
    public DetachedExecution launch(LaunchRequest request) throws IOException {
        return pool.launch(request);
    }

    /** A run whose instance was interrupted or lost goes on on a new one (a free slot launches it), from its last checkpoint. */
    @Override
    public boolean replacesLostHosts() {
        return true;
    }

    @Override
    public Liveness probe(RunLocator handle) {
        return Liveness.UNKNOWN; // remote runs are looked after by catchUp/attach
    }

    @Override
    public boolean stop(RunLocator handle, Duration grace) {
        return false; // needs the experiment: see stop(Experiment, Duration)
    }

    @Override
    public boolean stop(Experiment experiment, Duration grace) throws IOException {
        return hostOf(experiment.handle()).stop(experiment, grace);
    }

    @Override
    public void salvage(Experiment experiment, SalvageRequest request) throws IOException {
        catchUp(experiment, request);
    }

    /**
     * Collects from the run's instance. A run whose handle names no instance (none, or the launcher's: the sortie
     * that was provisioning it died, at any step up to the record of its agent) may have reached an instance before
     * its record said so: each of the executor's running instances is asked, as a pool asks its hosts; if none has
     * it, it never started.
     */
    @Override
    public Collection catchUp(Experiment experiment, SalvageRequest request) throws IOException {
        if (onInstance(experiment.handle())) {
            Collection c = hostOf(experiment.handle()).catchUp(experiment, request);
            if (c.state() == Collection.State.ENDED && c.outcome() != null
                    && dev.sortie.core.executor.Interruptions.machineGone(c.outcome().error())) {
                // collected by a sortie that did not launch it (the follower died, or it was detached): the instance
                // is tagged and terminated here as the follower would have (see InstanceSlot), never claimed idle
                instanceAt(experiment.handle()).ifPresent(i -> doomed(i.id()));
            }
            return c;
        }
        Map<String, HostSearch.Ask> hosts = new LinkedHashMap<>();
        for (CloudInstance i : cloud.instances(mine())) {
            // one not ready (its launch never finished) has no agent yet, so no run: asking it would only fail to connect
            if (i.running() && i.ready()) {
                hosts.put("instance " + i.id(), () -> executorFor(i).catchUp(experiment, request));
            }
        }
        HostSearch search = HostSearch.ask(hosts);
        if (search.found() != null) {
            return search.found();
        }
        if (search.neverHanded() != null && !search.unreachable()) {
            return search.neverHanded();
        }
        return search.unreachable() ? Collection.UNREACHABLE : Collection.ended(new dev.sortie.core.executor.RunOutcome(
                dev.sortie.core.model.ExperimentStatus.INTERRUPTED, null, "never started: no instance of " + name() + " has it"));
    }

    @Override
    public Optional<DetachedExecution> attach(Experiment experiment, SalvageRequest request) throws IOException {
        if (!onInstance(experiment.handle())) {
            return Optional.empty();
        }
        Optional<DetachedExecution> attached = hostOf(experiment.handle()).attach(experiment, request);
        // followed by a sortie that did not launch it (logs -f, a queue worker or the server adopting it): when its
        // instance goes away under it, the instance is tagged and terminated as its launcher would have (as catchUp does)
        return attached.map(a -> new DoomingExecution(a, () -> {
            try {
                instanceAt(experiment.handle()).ifPresent(i -> doomed(i.id()));
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "could not find the instance of {0} to terminate it: {1}", experiment.name(), e.toString());
            }
        }));
    }

    /** A followed run that, when it ends because its machine went away, has the instance doomed (tagged, terminated). */
    private record DoomingExecution(DetachedExecution run, Runnable doom) implements DetachedExecution {
        @Override
        public dev.sortie.core.model.RunLocator handle() {
            return run.handle();
        }

        @Override
        public dev.sortie.core.executor.RunOutcome await() throws InterruptedException {
            dev.sortie.core.executor.RunOutcome outcome = run.await();
            if (outcome.status() != dev.sortie.core.model.ExperimentStatus.RUNNING
                    && dev.sortie.core.executor.Interruptions.machineGone(outcome.error())) {
                doom.run();
            }
            return outcome;
        }

        @Override
        public void stop(Duration grace) {
            run.stop(grace);
        }

        @Override
        public Optional<IOException> infrastructureFailure() {
            return run.infrastructureFailure();
        }

        @Override
        public void detach() {
            run.detach();
        }
    }

    /** Whether a handle names a run on an instance (an agent's), not its launcher alone nor nothing. */
    private static boolean onInstance(RunLocator handle) {
        return handle != null && !handle.launcher();
    }

    /** The ssh executor of the instance a run handle names: a slot's, else one made from the instance's tags. */
    private DetachableExecutor hostOf(RunLocator handle) throws IOException {
        if (handle == null) {
            throw new IOException(name() + ": the run has no handle (it never started on an instance)");
        }
        for (InstanceSlot s : slots) {
            if (s.owns(handle)) {
                return s.executor();
            }
        }
        synchronized (this) {
            SshExecutor known = others.get(handle.host());
            if (known != null) {
                return known;
            }
        }
        Matcher m = HOST_KEY.matcher(handle.host());
        if (!m.matches()) {
            throw new IOException(name() + ": the run's host '" + handle.host() + "' is not an instance address");
        }
        String user = m.group(1);
        String address = m.group(2);
        int port = Integer.parseInt(m.group(3));
        CloudInstance found = null;
        for (CloudInstance i : cloud.instances(mine())) {
            if (address.equals(i.address(config.privateIp()))) {
                found = i;
            }
        }
        // An instance that is gone gets an executor that cannot connect: its runs are declared lost after lost_after.
        SshExecutor ssh = found != null ? provisioner.executorFor(address, port, user, found.tag(Tags.HOST_KEY), found.id())
                : provisioner.executorFor(address, port, user, null, "gone-" + address);
        synchronized (this) {
            others.put(handle.host(), ssh);
        }
        return ssh;
    }

    /** The instance of this executor at the address a run handle names, if AWS still lists it. */
    private Optional<CloudInstance> instanceAt(RunLocator handle) throws IOException {
        Matcher m = HOST_KEY.matcher(handle.host());
        if (!m.matches()) {
            return Optional.empty();
        }
        for (CloudInstance i : cloud.instances(mine())) {
            if (m.group(2).equals(i.address(config.privateIp())) && i.alive()) {
                return Optional.of(i);
            }
        }
        return Optional.empty();
    }

    private SshExecutor executorFor(CloudInstance i) throws IOException {
        return provisioner.executorFor(i, provisioner.sshUser(i));
    }

    @Override
    public List<String> instances() {
        List<String> out = new ArrayList<>();
        for (InstanceSlot s : slots) {
            String h = s.boundHost();
            if (h != null) {
                out.add(h);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- sortie up / down / status

    @Override
    public List<Provisioning.Instance> up(int count, Consumer<String> progress) throws IOException {
        List<CloudInstance> have = cloud.instances(mine()).stream().filter(CloudInstance::alive).toList();
        int missing = count - have.size();
        List<Provisioning.Instance> out = new ArrayList<>(have.stream().map(this::row).toList());
        if (missing <= 0) {
            return out;
        }
        TaskConfig task = projectTask();
        Consumer<String> say = line -> {
            synchronized (progress) {
                progress.accept(line);
            }
        };
        ExecutorService launches = Executors.newFixedThreadPool(missing, r -> {
            Thread t = new Thread(r, "sortie-aws-up");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<CloudInstance>> futures = new ArrayList<>();
            for (int i = 0; i < missing; i++) {
                futures.add(launches.submit(() -> provisioner.launch(task, null, say)));
            }
            IOException failure = null;
            for (Future<CloudInstance> f : futures) {
                try {
                    out.add(row(f.get()));
                } catch (ExecutionException e) {
                    IOException io = e.getCause() instanceof IOException x ? x : new IOException(e.getCause().getMessage(), e.getCause());
                    if (failure == null) {
                        failure = io;
                    } else {
                        failure.addSuppressed(io);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while launching instances");
                }
            }
            if (failure != null) {
                throw failure;
            }
            return out;
        } finally {
            launches.shutdownNow();
            provisioner.closeLogins(Duration.ofMinutes(2)); // no run here takes them: the agents they install first
        }
    }

    @Override
    public List<Provisioning.Instance> down(Consumer<String> progress) throws IOException {
        List<CloudInstance> have = cloud.instances(mine()).stream().filter(i -> !"shutting-down".equals(i.state())).toList();
        cloud.terminate(have.stream().map(CloudInstance::id).toList());
        InstanceHint.forget(hintFile(), null);
        for (CloudInstance i : have) {
            progress.accept("[sortie] aws " + i.id() + ": terminating (" + i.type() + ", " + i.state() + ")");
        }
        deleteRoles(role -> InstanceRole.madeFor(config.name(), role), progress);
        return have.stream().map(this::row).toList();
    }

    /**
     * The IAM roles sortie made for instances (a store in S3) that {@code which} picks and nothing uses now, deleted.
     * The instances are what {@code down} is for: a role that cannot be deleted (credentials without IAM rights) is
     * said, not an error; said only where the project's store is in S3 (elsewhere sortie makes no roles).
     */
    private void deleteRoles(java.util.function.Predicate<String> which, Consumer<String> progress) {
        try {
            InstanceRole.deleteUnused(cloud, which, progress);
        } catch (AwsException e) {
            if (provisioner.nodeStoreUrl() != null) {
                progress.accept("[sortie] aws: the instances' IAM roles are left: " + e.getMessage());
            } else {
                LOG.log(System.Logger.Level.DEBUG, "no IAM roles looked for: {0}", e.getMessage());
            }
        }
    }

    @Override
    public List<Provisioning.Instance> downOrphans(Set<String> configured, Consumer<String> progress) throws IOException {
        List<CloudInstance> orphans = new ArrayList<>();
        for (CloudInstance i : cloud.instances(Map.of(Tags.OWNER, identity.owner()))) {
            if ("shutting-down".equals(i.state())) {
                continue;
            }
            String why = orphanReason(i, configured);
            if (why != null) {
                orphans.add(i);
                progress.accept("[sortie] aws " + i.id() + ": terminating, " + why);
            }
        }
        cloud.terminate(orphans.stream().map(CloudInstance::id).toList());
        // the roles made for this store's instances by executors no longer configured (sortie executor remove)
        String storeUrl = provisioner.nodeStoreUrl();
        if (storeUrl != null) {
            deleteRoles(role -> InstanceRole.madeForStore(storeUrl, role)
                    && configured.stream().noneMatch(e -> InstanceRole.madeFor(e, role)), progress);
        }
        return orphans.stream().map(this::row).toList();
    }

    /** Why nothing will use an instance, or null when something may. */
    private String orphanReason(CloudInstance i, Set<String> configured) {
        if (!i.ready()) {
            if (!Identity.launcherAlive(i.tag(Tags.LAUNCHER))) {
                return "its launch never finished and the sortie that made it is gone";
            }
            Instant launched = i.launched() == null ? Instant.EPOCH : i.launched();
            if (launched.plus(config.bootTimeout()).plus(Duration.ofMinutes(5)).isBefore(Instant.now())) {
                return "its launch never finished (" + launched + ")";
            }
            return null;
        }
        if (identity.project().equals(i.tag(Tags.PROJECT)) && !configured.contains(i.tag(Tags.EXECUTOR))) {
            return "its executor '" + i.tag(Tags.EXECUTOR) + "' is no longer configured";
        }
        return null;
    }

    @Override
    public List<Provisioning.Instance> cloudInstances() throws IOException {
        return cloud.instances(Map.of(Tags.OWNER, identity.owner())).stream().map(this::row).toList();
    }

    @Override
    public List<Provisioning.Volume> volumes() throws IOException {
        return volumes.all().stream().map(AwsExecutor::row).toList();
    }

    @Override
    public List<Provisioning.Volume> deleteVolumes(Consumer<String> progress) throws IOException {
        return volumes.delete(progress).stream().map(AwsExecutor::row).toList();
    }

    private static Provisioning.Volume row(CloudVolume v) {
        return new Provisioning.Volume(v.tag(Tags.VOLUME), v.id(), v.tag(Tags.EXECUTOR), v.zone(), v.sizeGb(), v.state(), v.attachedTo());
    }

    private Provisioning.Instance row(CloudInstance i) {
        return new Provisioning.Instance(i.id(), i.tag(Tags.EXECUTOR), i.tag(Tags.PROJECT), i.state(), i.type(), i.spot(), i.launched(),
                i.address(config.privateIp()), i.ready(), i.pricePerHour());
    }

    @Override
    public void close() {
        pool.close();
        java.util.concurrent.CompletableFuture<Warm> untaken = null;
        synchronized (this) {
            if (!warmTaken) {
                untaken = warm;
            }
            warmTaken = true;
        }
        if (untaken != null) {
            // a warm-up no launch took (now or once it ends): its login is closed
            untaken.thenAccept(w -> {
                if (w != null && w.ssh() != null) {
                    w.ssh().close();
                }
            });
        }
        synchronized (this) {
            others.values().forEach(SshExecutor::close);
            others.clear();
        }
        provisioner.closeLogins(Duration.ZERO);
        cloud.close();
    }
}
