package dev.sortie.executor.ssh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.executor.remote.host.RemoteLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

/** Helpers for the transfer tests: connections to the fixture's sshd, remote folders (local: same machine), ids. */
final class TransferFixture {
    private TransferFixture() {
    }

    static SshConnection connect(SshdFixture sshd) throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("type", "ssh").put("host", "127.0.0.1").put("port", sshd.port).put("identity", sshd.clientKey.toString())
                .put("connect_timeout", "10s");
        return SshConnection.open(SshExecutorConfig.fromOptions("test", o), sshd.paths(sshd.knownHostsLine()));
    }

    /** A fresh remote_dir: absolute, with a space and a quote in it, so every remote path must be quoted right. */
    static RemoteLayout layout(SshdFixture sshd) throws IOException {
        Path dir = Files.createTempDirectory(sshd.dir, "remote");
        return new RemoteLayout(dir.resolve("it's a remote dir").toString());
    }

    static String gitBlobId(byte[] content) throws Exception {
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        sha1.update(("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII));
        sha1.update(content);
        return HexFormat.of().formatHex(sha1.digest());
    }

    static String sha256(byte[] content) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    }

    static byte[] random(Random r, int size) {
        byte[] b = new byte[size];
        r.nextBytes(b);
        return b;
    }
}
