package dev.sortie.store;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Blob names: lowercase hex SHA-256. Checked before a name becomes a path, so no name can leave the store. */
public final class BlobHash {
    public static final int HEX_LENGTH = 64;

    private BlobHash() {
    }

    /** True for exactly 64 hex digits (either case). */
    public static boolean isValid(String hash) {
        if (hash == null || hash.length() != HEX_LENGTH) {
            return false;
        }
        for (int i = 0; i < HEX_LENGTH; i++) {
            char c = hash.charAt(i);
            boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            if (!hex) {
                return false;
            }
        }
        return true;
    }

    /** The hash in its canonical lowercase form; IllegalArgumentException for anything that is not one. */
    public static String require(String hash) {
        if (!isValid(hash)) {
            String shown = hash == null ? "null" : "'" + (hash.length() > 100 ? hash.substring(0, 100) + "..." : hash) + "'";
            throw new IllegalArgumentException("not a blob hash: " + shown + " (expected 64 hex digits of a SHA-256)");
        }
        return hash.toLowerCase(java.util.Locale.ROOT);
    }

    /** The hash a blob of this file's content would have. */
    public static String of(java.nio.file.Path file) throws java.io.IOException {
        MessageDigest digest = newDigest();
        try (java.io.InputStream in = new java.security.DigestInputStream(java.nio.file.Files.newInputStream(file), digest)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return hex(digest.digest());
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-256.
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }
}
