package dev.sortie.executor.ssh;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real OpenSSH sshd on loopback for tests, standing for one remote host: its own port, ed25519 host key, client key
 * (in its authorized_keys) and temp folder, the current user allowed; never the user's ~/.ssh. Several can run at once
 * (a jump host and a target, a pool).
 *
 * <p>For host-loss tests: {@link #kill()} is the host dying (sshd and every process started through it, detached
 * ones included), {@link #restart()} the host coming back (same port, same host key), and {@link #hostDir()} a folder
 * of this host only, for the executor's {@code remote_dir} (every instance shares this machine's filesystem).
 *
 * <p>A test class that needs a host for all its tests declares {@code @Sshd static SshdFixture sshd;}
 * ({@link SshdExtension} starts and closes it).
 */
public final class SshdFixture implements AutoCloseable {
    static final Path SSHD = Path.of("/usr/sbin/sshd");
    /** Set by sshd in every session's environment, and so inherited by whatever a session starts, detached or not. */
    private static final String MARKER = "SORTIE_SSHD_FIXTURE";
    /** The fixture's own folder (keys, sshd_config, sshd.log); tests may put files there; deleted by {@link #close()}. */
    public final Path dir;
    /** The port sshd listens on, on 127.0.0.1; the same after {@link #restart()}. */
    public final int port;
    /** The host's private key ({@code .pub} beside it). */
    public final Path hostKey;
    /** A private key (no passphrase) that may log in ({@code .pub} beside it). */
    public final Path clientKey;
    /** The user that may log in: the one running the tests. */
    public final String user = System.getProperty("user.name");
    private final Path config;
    /** The size of {@link #hostDir()}'s own file system (tmpfs), or null when it is a folder of this machine's. */
    private final String diskSize;
    private Process process;

    private SshdFixture(Path dir, int port, Path hostKey, Path clientKey, Path config, String diskSize) {
        this.dir = dir;
        this.port = port;
        this.hostKey = hostKey;
        this.clientKey = clientKey;
        this.config = config;
        this.diskSize = diskSize;
    }

    /** Starts a new host (skips the test when sshd is not installed, outside CI). */
    public static SshdFixture start() throws Exception {
        return start(java.util.Map.of());
    }

    /**
     * Starts a new host whose sessions get {@code sessionEnv} (sshd's SetEnv, set after its defaults: a PATH here
     * replaces the host's, e.g. to put a fake {@code nvidia-smi} first). Values must not hold spaces or quotes.
     */
    public static SshdFixture start(java.util.Map<String, String> sessionEnv) throws Exception {
        return start(sessionEnv, null);
    }

    /**
     * Starts a new host whose {@link #hostDir()} is a file system of its own of {@code size} bytes ("20m"): a
     * tmpfs mounted in sshd's private mount namespace, so only this host's sessions see it, and a full disk is
     * a real ENOSPC. It is empty again after {@link #restart()}. Needs root (skips the test otherwise).
     */
    public static SshdFixture startWithDisk(String size) throws Exception {
        Assumptions.assumeTrue(isRoot() && Files.isExecutable(Path.of("/usr/bin/unshare")),
                "a host with a small disk needs root and unshare (util-linux) to mount a private tmpfs");
        return start(java.util.Map.of(), size);
    }

    private static SshdFixture start(java.util.Map<String, String> sessionEnv, String diskSize) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(SSHD) || System.getenv("CI") != null,
                "OpenSSH sshd is not installed (apt-get install -y openssh-server); the ssh integration tests need it");
        Path dir = Files.createTempDirectory("sortie-sshd");
        Path hostKey = keygen(dir, "host_ed25519");
        Path clientKey = keygen(dir, "client_ed25519");
        Path authorized = dir.resolve("authorized_keys");
        Files.copy(Path.of(clientKey + ".pub"), authorized);
        Files.createDirectories(dir.resolve("host"));
        Files.createDirectories(dir.resolve("home"));
        Files.writeString(dir.resolve("home/.bashrc"), "# a host's own, empty: this machine's is not run by the test sessions\ntrue\n");
        if (isRoot()) {
            Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation folder, as the Debian service makes it
        }
        int port = freePort();
        String user = System.getProperty("user.name");
        Path config = dir.resolve("sshd_config");
        Files.writeString(config, String.join("\n",
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "AuthorizedKeysFile " + authorized,
                "PidFile " + dir.resolve("sshd.pid"),
                "StrictModes no",
                "UsePAM no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "AllowUsers " + user,
                "AllowTcpForwarding yes", // a ProxyJump host forwards to the target (direct-tcpip)
                // sshd takes the first SetEnv line only: every variable goes on it. HOME is a folder of this host
                // with a .bashrc of its own: sessions do not run this machine's (whose tools may hang on a lock
                // left by a session that kill() cut short).
                "SetEnv " + MARKER + "=" + dir + " HOME=" + dir.resolve("home")
                        + sessionEnv.entrySet().stream().map(e -> " " + e.getKey() + "=" + e.getValue())
                        .collect(java.util.stream.Collectors.joining()),
                "LogLevel VERBOSE",
                ""));
        SshdFixture f = new SshdFixture(dir, port, hostKey, clientKey, config, diskSize);
        f.launch();
        return f;
    }

    private void launch() throws IOException, InterruptedException {
        List<String> command = diskSize == null
                ? list(SSHD.toString(), "-D", "-e", "-f", config.toString())
                : list("unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=\"$1\" sortie-test-disk \"$2\" && exec \"$3\" -D -e -f \"$4\"",
                        "sh", diskSize, hostDir().toString(), SSHD.toString(), config.toString());
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("sshd.log").toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("sshd exited with " + p.exitValue() + ": " + log());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException("sshd did not listen on " + port + ": " + log());
                }
                Thread.sleep(50);
            }
        }
        process = p;
    }

    /** A folder of this host only, for the executor's {@code remote_dir} (absolute). */
    public Path hostDir() {
        return dir.resolve("host");
    }

    /** Lets {@code publicKey} (a {@code .pub} file) log in too, e.g. a key that only an ssh-agent holds. */
    public void authorize(Path publicKey) throws IOException {
        Files.writeString(dir.resolve("authorized_keys"), Files.readString(publicKey), java.nio.file.StandardOpenOption.APPEND);
    }

    /**
     * The host dies: SIGKILL to sshd and to every process started through it, found by parent pid (/proc) and, for
     * those that detached (setsid, double fork) and were re-parented, by the marker sshd puts in every session's
     * environment or a working folder under this fixture's. Returns once they are gone and the port refuses.
     */
    public void kill() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        Set<ProcessHandle> victims;
        while (!(victims = processes()).isEmpty()) {
            victims.forEach(ProcessHandle::destroyForcibly);
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("processes of sshd on port " + port + " survive SIGKILL: " + victims);
            }
            Thread.sleep(20);
        }
        if (process != null) {
            process.waitFor(10, TimeUnit.SECONDS); // reaps it: our child
        }
    }

    /**
     * Only sshd dies: SIGKILL to it and to its sessions (its descendants), while what was started detached on the
     * host (an agent and its run) goes on, as on a host whose network or sshd went away. Returns once the port
     * refuses; {@link #resume()} brings sshd back.
     */
    public void killSshdOnly() throws IOException, InterruptedException {
        if (process == null) {
            return;
        }
        // Agents are started through the host's shell (a session of sshd's): the agent and its run are spared,
        // as they would be on a host whose agent was started by a session that has ended since.
        Set<ProcessHandle> spared = new LinkedHashSet<>();
        process.descendants().filter(h -> h.info().commandLine().orElse("").contains("AgentMain"))
                .forEach(h -> {
                    spared.add(h);
                    h.descendants().forEach(spared::add);
                });
        List<ProcessHandle> victims = new java.util.ArrayList<>();
        victims.add(process.toHandle());
        process.descendants().filter(h -> !spared.contains(h)).forEach(victims::add);
        victims.forEach(ProcessHandle::destroyForcibly);
        process.waitFor(10, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (victims.stream().anyMatch(h -> h.isAlive() && !isZombie(h.pid()))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("sshd on port " + port + " or its sessions survive SIGKILL");
            }
            Thread.sleep(20);
        }
    }

    /** sshd again after {@link #killSshdOnly()}, on the same port with the same host key; what ran on the host is left as it is. */
    public void resume() throws IOException, InterruptedException {
        launch();
    }

    /** The host comes back after {@link #kill()}: sshd again on the same port with the same host key. */
    public void restart() throws IOException, InterruptedException {
        kill();
        launch();
    }

    /** Whether sshd is running (false after {@link #kill()}). */
    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /**
     * The live processes of this host (see {@link #kill()} for how they are found) whose command line contains
     * {@code text}: a test kills one kind of process of its own host with these, where {@code pkill -f} would
     * reach every test's on this machine, and every user's.
     */
    public List<ProcessHandle> processesRunning(String text) {
        return processes().stream().filter(h -> commandLine(h.pid()).contains(text)).toList();
    }

    /** The process's argv joined by spaces ("" once it is gone). */
    private static String commandLine(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8)
                    .replace('\0', ' ');
        } catch (IOException | SecurityException e) {
            return "";
        }
    }

    /** This sshd, its descendants, and whatever carries this fixture's marker or works in its folder. */
    private Set<ProcessHandle> processes() {
        Set<ProcessHandle> found = new LinkedHashSet<>();
        if (process != null && process.isAlive()) {
            found.add(process.toHandle());
            process.descendants().forEach(found::add);
        }
        String marker = MARKER + "=" + dir;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                long pid = Long.parseLong(p.getFileName().toString());
                if (pid == ProcessHandle.current().pid()) {
                    continue;
                }
                if (environContains(p, marker) || worksUnder(p, dir)) {
                    ProcessHandle.of(pid).ifPresent(h -> {
                        found.add(h);
                        h.descendants().forEach(found::add);
                    });
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        found.removeIf(h -> !h.isAlive() || isZombie(h.pid()));
        return found;
    }

    /** Dead but not yet reaped (its parent died too and init has not got to it): nothing left to kill. */
    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return true; // gone
        }
    }

    private static boolean environContains(Path proc, String entry) {
        try {
            for (String e : Files.readString(proc.resolve("environ"), StandardCharsets.ISO_8859_1).split("\0")) {
                if (e.equals(entry)) {
                    return true;
                }
            }
        } catch (IOException | SecurityException e) {
            // gone, or not ours to read
        }
        return false;
    }

    private static boolean worksUnder(Path proc, Path folder) {
        try {
            return Files.readSymbolicLink(proc.resolve("cwd")).startsWith(folder);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** A known_hosts line for this sshd's host key, as OpenSSH writes it for a non-22 port. */
    public String knownHostsLine() throws IOException {
        return knownHostsLine(Path.of(hostKey + ".pub"));
    }

    String knownHostsLine(Path publicKey) throws IOException {
        String[] f = Files.readString(publicKey).trim().split("\\s+");
        return "[127.0.0.1]:" + port + " " + f[0] + " " + f[1] + "\n";
    }

    /** Paths in a fresh folder: empty ssh dir, no config, known_hosts with {@code knownHosts} (or none when null), no agent. */
    public SshPaths paths(String knownHosts) throws IOException {
        Path home = Files.createTempDirectory(dir, "home");
        Path ssh = Files.createDirectories(home.resolve(".ssh"));
        if (knownHosts != null) {
            Files.writeString(ssh.resolve("known_hosts"), knownHosts);
        }
        return new SshPaths(home, ssh, ssh.resolve("config"), ssh.resolve("known_hosts"), user);
    }

    /** What sshd logged (VERBOSE: connections, accepted keys), across restarts. */
    public String log() throws IOException {
        return Files.readString(dir.resolve("sshd.log"), StandardCharsets.UTF_8);
    }

    /** A new ed25519 key pair without a passphrase. */
    public static Path keygen(Path dir, String name) throws IOException, InterruptedException {
        return keygen(dir, name, "");
    }

    /** A new ed25519 key pair, its private half encrypted with {@code passphrase} (none when empty). */
    public static Path keygen(Path dir, String name, String passphrase) throws IOException, InterruptedException {
        Path key = dir.resolve(name);
        Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", key.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("ssh-keygen failed: " + out);
        }
        return key;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Kills the host (see {@link #kill()}) and deletes its folder. */
    @Override
    public void close() throws IOException {
        try {
            kill();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while killing sshd on port " + port, e);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static List<String> list(String... s) {
        return List.of(s);
    }
}
