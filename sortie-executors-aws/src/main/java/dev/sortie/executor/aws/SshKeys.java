package dev.sortie.executor.aws;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.loader.openssh.OpenSSHKeyPairResourceParser;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.util.io.resource.PathResource;

/** Ed25519 key pairs made here (with MINA SSHD), in OpenSSH's formats: the login key of an executor, the host key of an instance. */
final class SshKeys {
    private SshKeys() {
    }

    /** A new key pair: its private key in OpenSSH's format (secret: never logged) and its public key line. */
    record Generated(String privateKey, String publicKey) {
        @Override
        public String toString() {
            return "Generated[" + publicKey + "]"; // never the private key
        }
    }

    static Generated generate(String comment) throws IOException {
        try {
            KeyPair kp = KeyUtils.generateKeyPair(KeyPairProviderTypes.ED25519, 256);
            ByteArrayOutputStream priv = new ByteArrayOutputStream();
            OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(kp, comment, null, priv);
            return new Generated(priv.toString(StandardCharsets.US_ASCII), PublicKeyEntry.toString(kp.getPublic()) + " " + comment);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make an ed25519 key pair: " + e.getMessage(), e);
        }
    }

    /**
     * The login key at {@code file} (private, mode 0600) with its public half at {@code file.pub}: made the first time,
     * read after. Returns the public key line.
     */
    static String loginKey(Path file, String comment) throws IOException {
        Path pub = file.resolveSibling(file.getFileName() + ".pub");
        if (!Files.isRegularFile(file)) {
            Files.createDirectories(file.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Generated g = generate(comment);
            // created 0600 before a byte of the key is written, under a name of its own (several sorties may start at once)
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName() + ".", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.TRUNCATE_EXISTING)) {
                    out.write(g.privateKey().getBytes(StandardCharsets.US_ASCII));
                }
                Files.move(tmp, file); // no replace: a key another sortie made meanwhile wins
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // use theirs
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        // the public half always from the private key: the two can never disagree
        try {
            var pairs = OpenSSHKeyPairResourceParser.INSTANCE.loadKeyPairs(null, new PathResource(file), null);
            KeyPair kp = pairs.iterator().next();
            String line = PublicKeyEntry.toString(kp.getPublic()) + " " + comment;
            if (!Files.isRegularFile(pub) || !Files.readString(pub).trim().equals(line)) {
                Files.writeString(pub, line + "\n");
            }
            return line;
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException("cannot read the key " + file + " (" + e.getMessage() + "); move it away and Sortie makes a new one", e);
        }
    }

    /** "SHA256:..." of a public key line. */
    static String fingerprint(String publicKeyLine) {
        try {
            return KeyUtils.getFingerPrint(PublicKeyEntry.parsePublicKeyEntry(publicKeyLine).resolvePublicKey(null, null, null));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            return "?";
        }
    }

    /** The key type and base64 of a public key line, without its comment ("ssh-ed25519 AAAA..."). */
    static String bare(String publicKeyLine) {
        String[] parts = publicKeyLine.trim().split("\\s+");
        return parts.length < 2 ? publicKeyLine.trim() : parts[0] + " " + parts[1];
    }

    /** MINA's name of the ed25519 key type. */
    private static final class KeyPairProviderTypes {
        static final String ED25519 = org.apache.sshd.common.keyprovider.KeyPairProvider.SSH_ED25519;
    }
}
