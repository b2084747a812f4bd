package dev.sortie.store.s3;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where in S3 a store lives: a bucket and a key prefix, from {@code s3://bucket/prefix}. The prefix is kept without a
 * leading slash and with a trailing one (or empty), so keys are {@code prefix + "sha256/ab/cdef.."}.
 */
public record S3Location(String bucket, String prefix) {
    /** S3's bucket naming rules: 3-63 characters of lower-case letters, digits, dots and hyphens, letter or digit at the ends. */
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

    /** Parses {@code s3://bucket[/prefix]}; IllegalArgumentException saying what is wrong and what would be valid. */
    public static S3Location parse(String url) {
        String u = url.trim();
        if (!u.toLowerCase(Locale.ROOT).startsWith("s3://")) {
            throw new IllegalArgumentException("'" + url + "' is not an S3 URL: expected s3://BUCKET/PREFIX");
        }
        String rest = u.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        if (bucket.isEmpty()) {
            throw new IllegalArgumentException("'" + url + "' names no bucket: expected s3://BUCKET/PREFIX, e.g. s3://my-bucket/sortie");
        }
        if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
            throw new IllegalArgumentException("'" + bucket + "' is not a valid bucket name: 3 to 63 lower-case letters, digits, dots"
                    + " and hyphens, starting and ending with a letter or digit");
        }
        if (prefix.contains("//") || prefix.startsWith("/")) {
            throw new IllegalArgumentException("the prefix of '" + url + "' has an empty folder ('//'): expected s3://BUCKET/a/b");
        }
        if (prefix.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '\\')) {
            throw new IllegalArgumentException("the prefix of '" + url + "' has a control character or a backslash");
        }
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        return new S3Location(bucket, prefix);
    }

    /** {@code s3://bucket/prefix} (no trailing slash), for messages. */
    public String url() {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix.substring(0, prefix.length() - 1));
    }

    /** The key of a blob: {@code prefix/sha256/ab/cdef..} (the hash already checked and lower case). */
    public String key(String hash) {
        return prefix + "sha256/" + hash.substring(0, 2) + "/" + hash.substring(2);
    }

    @Override
    public String toString() {
        return url();
    }
}
