package dev.sortie.executor.ssh;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.sync.CodeSync;
import dev.sortie.executor.remote.sync.SyncProgress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * Throwaway measurement, not a test (surefire never picks it up: no Test in its name, a main): code sync of 5,000
 * files / ~500 MB of random bytes (100 x 4.5 MB + 4,900 small ones) to the loopback sshd of {@link SshdFixture},
 * first sync and re-sync after one file changed, with MINA's cipher choices, against {@code rsync -a} over OpenSSH.
 *
 * <pre>
 * mvn -o -q -pl sortie-executors-ssh test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp sortie-executors-ssh/target/test-classes:sortie-executors-ssh/target/classes:$(cat sortie-executors-ssh/target/cp.txt) \
 *     dev.sortie.executor.ssh.CodeSyncBench [rounds]
 * </pre>
 */
public final class CodeSyncBench {
    private static final int BIG = 100;
    private static final int BIG_SIZE = 4_500_000;
    private static final int SMALL = 4_900;
    /** The JVM as tests run it (C2 on), and as the sortie launcher starts it (C1 only, for start-up time). */
    private static final List<String> JVM_OPTS = List.of(System.getenv().getOrDefault("BENCH_JVMS", "|-XX:+UseSerialGC -XX:TieredStopAtLevel=1").split("\\|", -1));
    private static final List<String> CIPHERS = List.of(System.getenv().getOrDefault("BENCH_CIPHERS",
            "default,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr").split(","));

    private CodeSyncBench() {
    }

    /** Driver: makes the data once, then runs each variant in a fresh JVM, as a CLI would (JIT warm-up included). */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("ours")) {
            ours(args);
            return;
        }
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        try (SshdFixture sshd = SshdFixture.start()) {
            Path src = sshd.dir.resolve("src");
            long t0 = System.nanoTime();
            long bytes = generate(src);
            System.out.printf("data: %d files, %.1f MB in %s (%.1f s to write)%n", BIG + SMALL, bytes / 1e6, src, secs(t0));
            Path changed = src.resolve("small/d07/f0700.py");
            List<String> rows = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                for (String jit : JVM_OPTS) {
                    for (String cipher : CIPHERS) {
                        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
                        if (!jit.isEmpty()) {
                            cmd.addAll(List.of(jit.split(" ")));
                        }
                        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CodeSyncBench.class.getName(),
                                "ours", cipher, src.toString(), changed.toString(), sshd.dir.toString(), Integer.toString(sshd.port),
                                sshd.clientKey.toString(), sshd.user, jit.isEmpty() ? "(C2)" : "(C1 only)"));
                        rows.add(run(cmd).strip());
                    }
                }
                for (String cipher : new String[] {"default", "aes128-gcm@openssh.com"}) {
                    rows.add(rsync(sshd, cipher, src, changed));
                }
            }
            System.out.println();
            System.out.printf("%-52s %9s %9s %9s %9s %9s%n", "", "connect", "first", "listed", "no-change", "1 changed");
            rows.forEach(System.out::println);
        }
    }

    /** One variant, in its own JVM: connect, first sync, same list again, one file changed. Prints one row. */
    private static void ours(String[] a) throws Exception {
        String cipher = a[1];
        Path src = Path.of(a[2]);
        Path changed = Path.of(a[3]);
        Path scratch = Path.of(a[4]);
        int port = Integer.parseInt(a[5]);
        Path key = Path.of(a[6]);
        String user = a[7];
        Map<String, Path> blobs = new HashMap<>();
        List<CodeFile> files = list(src, blobs); // the snapshot's work (git has the ids already): not timed
        RemoteLayout layout = new RemoteLayout(Files.createTempDirectory(scratch, "ours").toString());
        ClientSession[] session = new ClientSession[1];
        long t0 = System.nanoTime();
        try (SshConnection c = connect(port, key, user, cipher, session)) {
            double connect = secs(t0);
            CodeSync sync = new CodeSync(c, layout);
            CodeSync.BlobOpener opener = id -> Files.newInputStream(blobs.get(id));
            long[] uploadStart = {0};
            t0 = System.nanoTime();
            long start = t0;
            CodeSync.SyncResult first = sync.sync(files, opener, (fd, ft, bd, bt) -> {
                if (uploadStart[0] == 0) {
                    uploadStart[0] = System.nanoTime();
                }
            });
            double firstS = secs(t0);
            double listed = (uploadStart[0] - start) / 1e9;
            t0 = System.nanoTime();
            CodeSync.SyncResult same = sync.sync(files, opener, SyncProgress.NONE);
            double sameS = secs(t0);
            List<CodeFile> after = change(src, changed, files, blobs);
            t0 = System.nanoTime();
            CodeSync.SyncResult one = sync.sync(after, opener, SyncProgress.NONE);
            double oneS = secs(t0);
            if (first.filesSent() != first.filesTotal() || !same.upToDate() || one.filesSent() != 1) {
                throw new IllegalStateException("unexpected: " + first + " " + same + " " + one);
            }
            String enc = session[0].getNegotiatedKexParameter(org.apache.sshd.common.kex.KexProposalOption.C2SENC);
            String mac = session[0].getNegotiatedKexParameter(org.apache.sshd.common.kex.KexProposalOption.C2SMAC);
            String name = "sortie " + a[8] + " " + enc + (enc.contains("gcm") || enc.contains("chacha") ? "" : "+" + mac);
            System.out.printf("%-52s %9s %9s %9s %9s %9s%n", name, f(connect), f(firstS), f(listed), f(sameS), f(oneS));
        } finally {
            delete(Path.of(layout.root()));
        }
    }

    private static String rsync(SshdFixture sshd, String cipher, Path src, Path changed) throws Exception {
        Path dest = Files.createTempDirectory(sshd.dir, "rsync");
        Path known = sshd.dir.resolve("bench_known_hosts");
        Files.writeString(known, sshd.knownHostsLine());
        String ssh = "ssh -p " + sshd.port + " -i " + sshd.clientKey + " -o UserKnownHostsFile=" + known
                + " -o StrictHostKeyChecking=yes -o BatchMode=yes" + (cipher.equals("default") ? "" : " -c " + cipher);
        List<String> cmd = List.of("rsync", "-a", "-e", ssh, src + "/", sshd.user + "@127.0.0.1:" + dest + "/");
        long t0 = System.nanoTime();
        run(cmd);
        double first = secs(t0);
        t0 = System.nanoTime();
        run(cmd);
        double same = secs(t0);
        Files.write(changed, random(new Random(System.nanoTime()), 5000));
        t0 = System.nanoTime();
        run(cmd);
        double one = secs(t0);
        if (!java.util.Arrays.equals(Files.readAllBytes(changed), Files.readAllBytes(dest.resolve(src.relativize(changed))))) {
            throw new IllegalStateException("rsync did not copy the change");
        }
        delete(dest);
        return String.format("%-52s %9s %9s %9s %9s %9s", "rsync -a, OpenSSH " + cipher, "-", f(first), "-", f(same), f(one));
    }

    /** A connection like {@link SshConnection#open}'s, with the cipher chosen (the bench's one knob MINA exposes here). */
    private static SshConnection connect(int port, Path key, String user, String cipher, ClientSession[] out) throws Exception {
        SshClient client = SshClient.setUpDefaultClient();
        if (!cipher.equals("default")) {
            List<NamedFactory<Cipher>> ciphers = new ArrayList<>();
            ciphers.add(BuiltinCiphers.fromFactoryName(cipher));
            client.setCipherFactories(ciphers);
        }
        client.setServerKeyVerifier((s, a, k) -> true);
        client.setKeyIdentityProvider(new FileKeyPairProvider(key));
        client.setFilePasswordProvider(FilePasswordProvider.EMPTY);
        CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, Duration.ofSeconds(15));
        client.start();
        ClientSession session = client.connect(user, "127.0.0.1", port).verify(Duration.ofSeconds(10)).getSession();
        session.auth().verify(Duration.ofSeconds(10));
        out[0] = session;
        return new SshConnection(new SshTarget("bench", "127.0.0.1", port, user, List.of(key), null),
                client, session);
    }

    private static List<CodeFile> change(Path src, Path changed, List<CodeFile> files, Map<String, Path> blobs) throws Exception {
        byte[] content = random(new Random(System.nanoTime()), 5000);
        Files.write(changed, content);
        String rel = src.relativize(changed).toString();
        String id = TransferFixture.gitBlobId(content);
        Path copy = Files.createTempFile(src.getParent(), "changed", ".py");
        Files.write(copy, content);
        blobs.put(id, copy);
        List<CodeFile> out = new ArrayList<>();
        for (CodeFile f : files) {
            out.add(f.path().equals(rel) ? new CodeFile(rel, CodeFile.Kind.FILE, id, content.length) : f);
        }
        return out;
    }

    private static long generate(Path src) throws IOException {
        Random r = new Random(1);
        long total = 0;
        Files.createDirectories(src.resolve("big"));
        for (int i = 0; i < BIG; i++) {
            Files.write(src.resolve("big/b" + i + ".bin"), random(r, BIG_SIZE));
            total += BIG_SIZE;
        }
        for (int i = 0; i < SMALL; i++) {
            Path p = src.resolve(String.format("small/d%02d/f%04d.py", i / 100, i));
            Files.createDirectories(p.getParent());
            int size = 2048 + r.nextInt(16384);
            Files.write(p, random(r, size));
            total += size;
        }
        return total;
    }

    private static List<CodeFile> list(Path src, Map<String, Path> blobs) throws Exception {
        List<CodeFile> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
                long size = Files.size(p);
                sha1.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
                try (InputStream in = Files.newInputStream(p)) {
                    byte[] buf = new byte[1 << 16];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        sha1.update(buf, 0, n);
                    }
                }
                String id = HexFormat.of().formatHex(sha1.digest());
                blobs.put(id, p);
                out.add(new CodeFile(src.relativize(p).toString(), CodeFile.Kind.FILE, id, size));
            }
        }
        return out;
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(cmd + " failed: " + out);
        }
        return out;
    }

    private static byte[] random(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static void delete(Path dir) throws IOException {
        new ProcessBuilder("rm", "-rf", dir.toString()).inheritIO().start().onExit().join();
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static String f(double s) {
        return String.format("%.2f", s);
    }
}
