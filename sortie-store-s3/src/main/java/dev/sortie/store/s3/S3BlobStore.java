package dev.sortie.store.s3;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.store.BlobStore;
import dev.sortie.core.store.StoreSpec;
import dev.sortie.store.BlobHash;
import dev.sortie.store.BlobNotFoundException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.AwsProfileRegionProvider;
import software.amazon.awssdk.regions.providers.AwsRegionProviderChain;
import software.amazon.awssdk.regions.providers.SystemSettingsRegionProvider;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * A {@link BlobStore} in an S3 bucket (or any S3-compatible endpoint): blob {@code abcdef..} is the object
 * {@code prefix/sha256/ab/cdef..}. Many machines may share it: the same bytes are stored once.
 *
 * <p>Writes are put-if-absent: a HEAD first (the common case, a blob already there, costs no upload), then a PUT with
 * {@code If-None-Match: *}, so of two writers racing only one creates the object and the other is told it exists
 * (412), which for the same content is success. An endpoint that does not know the condition (501) gets plain PUTs:
 * identical bytes overwriting identical bytes. An object only ever appears whole (S3 has no partial objects). Single
 * PUTs carry the content's SHA-256, which S3 checks against what arrives.
 *
 * <p>Files above the part size go up as multipart uploads, one part at a time read straight from the file, so a blob
 * of several gigabytes never sits in memory (the JDK's HTTP connection holds at most one part); a failed upload is
 * aborted. A stream of unknown length ({@link #put(InputStream)}) is hashed into a temp file first when it is larger
 * than a part: its key is its hash, known only at its end.
 *
 * <p>Reads check the content against the name on the way: a blob whose bytes do not hash to its name is an
 * IOException naming its key, at the end of {@link #open}'s stream, and {@link #get} then leaves no file behind.
 * Throttling and server errors are retried with backoff by the SDK's standard retry strategy.
 */
public final class S3BlobStore implements BlobStore, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(S3BlobStore.class.getName());
    private static final int MAX_PARTS = 10_000;
    private static final int BUFFER = 1 << 16;
    private static final int RETRY_ATTEMPTS = 5;

    private final S3Client s3;
    private final S3Location location;
    private final String endpoint;
    private final long partSize;
    private final S3Errors errors;
    /** The settings as a node opens the same store (see {@link #nodeSpec}). */
    private final StoreSpec nodeSpec;
    private final SecureRandom random = new SecureRandom();
    /** Set once an endpoint answers 501 to If-None-Match; a plain PUT of the same bytes is as correct, one race wider. */
    private volatile boolean conditionalWrites = true;

    private S3BlobStore(S3Client s3, S3Location location, String endpoint, long partSize, StoreSpec nodeSpec) {
        this.s3 = s3;
        this.nodeSpec = nodeSpec;
        this.location = location;
        this.endpoint = endpoint;
        this.partSize = partSize;
        this.errors = new S3Errors(location, endpoint);
    }

    /**
     * Opens the store: builds the client (credentials from the SDK's default chain, never stored) and checks that the
     * bucket exists and answers, so a run finds a wrong bucket or an unreachable endpoint before it starts.
     */
    public static S3BlobStore open(S3StoreSettings settings) throws IOException {
        S3BlobStore store = connect(settings);
        try {
            store.s3.headBucket(b -> b.bucket(settings.location().bucket()));
        } catch (SdkException e) {
            store.close();
            throw store.errors.translate("checking the bucket", e);
        }
        return store;
    }

    /** The client alone, with no check (tests that make the bucket first). */
    static S3BlobStore connect(S3StoreSettings settings) throws IOException {
        S3ClientBuilder b = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofMinutes(2)))
                .forcePathStyle(settings.pathStyle())
                // Sortie checks every blob's SHA-256 end to end itself; the SDK's own CRC32 trailers are not understood
                // by every S3-compatible server, so they go only where S3 requires them
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.retryStrategy(
                        AwsRetryStrategy.standardRetryStrategy().toBuilder().maxAttempts(RETRY_ATTEMPTS).build()));
        Optional<Region> region = region(settings);
        b.region(region.orElse(Region.US_EAST_1));
        if (region.isEmpty()) {
            // no region anywhere: S3 tells where a bucket lives, and the client follows it
            b.crossRegionAccessEnabled(true);
        }
        if (settings.endpoint() != null) {
            b.endpointOverride(settings.endpoint());
        }
        S3Client client;
        try {
            client = b.build();
        } catch (SdkException e) {
            throw new IOException("cannot set up the S3 client for " + settings.location().url() + ": " + e.getMessage(), e);
        }
        String endpoint = settings.endpoint() != null ? settings.endpoint().toString()
                : client.serviceClientConfiguration().endpointOverride().map(URI::toString)
                        .orElse("AWS S3 in " + region.map(Region::id).orElse("the bucket's region"));
        // What a node needs to open the same bucket: the endpoint this client resolved (the store's option, else
        // AWS_ENDPOINT_URL or the profile's endpoint_url), the region if one is known; credentials are never part of it
        ObjectNode options = JsonNodeFactory.instance.objectNode();
        Optional<URI> override = settings.endpoint() != null ? Optional.of(settings.endpoint())
                : client.serviceClientConfiguration().endpointOverride();
        override.ifPresent(u -> options.put("endpoint", u.toString()));
        region.ifPresent(r -> options.put("region", r.id()));
        options.put("path_style", settings.pathStyle()).put("part_size", settings.partSize());
        StoreSpec node = new StoreSpec(settings.location().url(), options, null, "store");
        return new S3BlobStore(client, settings.location(), endpoint, settings.partSize(), node);
    }

    /**
     * The configured region, else the SDK's environment (AWS_REGION, aws.region) and profile. Not the SDK's whole
     * default chain: its last step asks the EC2 metadata service, which off EC2 costs a timeout on every start.
     */
    private static Optional<Region> region(S3StoreSettings settings) {
        if (settings.region() != null) {
            return Optional.of(Region.of(settings.region()));
        }
        try {
            return Optional.of(new AwsRegionProviderChain(new SystemSettingsRegionProvider(), new AwsProfileRegionProvider()).getRegion());
        } catch (SdkException e) {
            LOG.log(System.Logger.Level.DEBUG, "no AWS region configured; S3 will say where the bucket is: {0}", e.getMessage());
            return Optional.empty();
        }
    }

    public S3Location s3Location() {
        return location;
    }

    /** The endpoint the client talks to, for messages. */
    public String endpoint() {
        return endpoint;
    }

    @Override
    public String put(Path file) throws IOException {
        long size = Files.size(file);
        FileTime modified = Files.getLastModifiedTime(file);
        String hash = BlobHash.of(file);
        if (contains(hash)) {
            return hash;
        }
        boolean created = upload(file, size, hash);
        // The key is the hash of the first read; a file still being written would leave other bytes under it.
        if (Files.size(file) != size || !Files.getLastModifiedTime(file).equals(modified)) {
            if (created) {
                delete(hash);
            }
            throw new IOException(file + " changed while it was being stored in " + location.url() + "; store it again once it is complete");
        }
        return hash;
    }

    @Override
    public String put(InputStream in) throws IOException {
        MessageDigest digest = newDigest();
        byte[] head = in.readNBytes((int) Math.min(partSize, Integer.MAX_VALUE - 8));
        digest.update(head);
        int next = head.length < partSize ? -1 : in.read();
        if (next < 0) {
            String hash = HexFormat.of().formatHex(digest.digest());
            if (!contains(hash)) {
                putObject(hash, RequestBody.fromBytes(head), head.length);
            }
            return hash;
        }
        // Larger than a part: its name (its hash) is known only at its end, and a multipart upload needs it first
        Path tmp = Files.createTempFile("sortie-s3-put-", ".blob");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                 OutputStream out = Channels.newOutputStream(ch)) {
                out.write(head);
                head = null;
                out.write(next);
                digest.update((byte) next);
                byte[] buf = new byte[BUFFER];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    digest.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            }
            String hash = HexFormat.of().formatHex(digest.digest());
            if (!contains(hash)) {
                upload(tmp, Files.size(tmp), hash);
            }
            return hash;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public boolean contains(String hash) throws IOException {
        String key = location.key(BlobHash.require(hash));
        try {
            s3.headObject(b -> b.bucket(location.bucket()).key(key));
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw errors.translate("checking blob " + key, e);
        } catch (SdkException e) {
            throw errors.translate("checking blob " + key, e);
        }
    }

    @Override
    public long size(String hash) throws IOException {
        String h = BlobHash.require(hash);
        String key = location.key(h);
        try {
            return s3.headObject(b -> b.bucket(location.bucket()).key(key)).contentLength();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                throw new BlobNotFoundException(h, location.url());
            }
            throw errors.translate("checking blob " + key, e);
        } catch (SdkException e) {
            throw errors.translate("checking blob " + key, e);
        }
    }

    /** The blob's bytes, checked against its name as they go: the stream's end throws if they do not match. */
    @Override
    public InputStream open(String hash) throws IOException {
        String h = BlobHash.require(hash);
        String key = location.key(h);
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = s3.getObject(b -> b.bucket(location.bucket()).key(key));
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                throw new BlobNotFoundException(h, location.url());
            }
            throw errors.translate("reading blob " + key, e);
        } catch (SdkException e) {
            throw errors.translate("reading blob " + key, e);
        }
        return new Checked(in, h, "s3://" + location.bucket() + "/" + key);
    }

    @Override
    public void get(String hash, Path target) throws IOException {
        String h = BlobHash.require(hash);
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(tempName(abs.getFileName().toString()));
        try {
            try (InputStream in = open(h);
                 FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 OutputStream out = Channels.newOutputStream(ch)) {
                in.transferTo(out); // the checked stream throws at its end if the bytes are not the blob's
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public String location() {
        return location.url();
    }

    @Override
    public Optional<StoreSpec> nodeSpec() {
        return Optional.of(nodeSpec);
    }

    @Override
    public void close() {
        s3.close();
    }

    /** Uploads a file whose hash is known; true if this call created the object, false if it was there already. */
    private boolean upload(Path file, long size, String hash) throws IOException {
        if (size <= partSize) {
            return putObject(hash, RequestBody.fromFile(file), size);
        }
        return multipart(file, size, hash);
    }

    private boolean putObject(String hash, RequestBody body, long size) throws IOException {
        String key = location.key(hash);
        String sha256 = Base64.getEncoder().encodeToString(HexFormat.of().parseHex(hash));
        for (int attempt = 1; ; attempt++) {
            boolean conditional = conditionalWrites;
            try {
                s3.putObject(b -> {
                    b.bucket(location.bucket()).key(key).contentLength(size).checksumSHA256(sha256)
                            .contentType("application/octet-stream");
                    if (conditional) {
                        b.ifNoneMatch("*");
                    }
                }, body);
                return true;
            } catch (S3Exception e) {
                Boolean done = afterConditionalFailure(e, key, attempt);
                if (done != null) {
                    return done;
                }
            } catch (SdkException e) {
                throw errors.translate("writing blob " + key, e);
            }
        }
    }

    /**
     * What a failed conditional write means: false for 412 (the object exists: someone stored the same bytes first),
     * null to try again (409: another conditional write of the key is in flight; 501: no conditional writes here).
     */
    private Boolean afterConditionalFailure(S3Exception e, String key, int attempt) throws IOException {
        if (e.statusCode() == 412) {
            return false;
        }
        if (e.statusCode() == 501 && conditionalWrites) {
            LOG.log(System.Logger.Level.DEBUG, "{0} does not take If-None-Match; writing without it", endpoint);
            conditionalWrites = false;
            return null;
        }
        if (e.statusCode() == 409 && attempt < RETRY_ATTEMPTS) {
            pause(attempt);
            return null;
        }
        throw errors.translate("writing blob " + key, e);
    }

    private boolean multipart(Path file, long size, String hash) throws IOException {
        String key = location.key(hash);
        long part = Math.max(partSize, ceilMiB((size + MAX_PARTS - 1) / MAX_PARTS));
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(location.bucket()).key(key)
                    .contentType("application/octet-stream")).uploadId();
        } catch (SdkException e) {
            throw errors.translate("starting the upload of blob " + key, e);
        }
        boolean completed = false;
        try {
            List<CompletedPart> parts = new ArrayList<>();
            int number = 1;
            for (long offset = 0; offset < size; offset += part, number++) {
                long length = Math.min(part, size - offset);
                long from = offset;
                int n = number;
                String etag;
                try {
                    // a provider, not a stream: the SDK opens it again for each retry of the part
                    etag = s3.uploadPart(b -> b.bucket(location.bucket()).key(key).uploadId(uploadId).partNumber(n).contentLength(length),
                            RequestBody.fromContentProvider(() -> slice(file, from, length), length, "application/octet-stream")).eTag();
                } catch (SdkException e) {
                    throw errors.translate("uploading part " + n + " of blob " + key, e);
                }
                parts.add(CompletedPart.builder().partNumber(n).eTag(etag).build());
            }
            for (int attempt = 1; ; attempt++) {
                boolean conditional = conditionalWrites;
                try {
                    s3.completeMultipartUpload(b -> {
                        b.bucket(location.bucket()).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts));
                        if (conditional) {
                            b.ifNoneMatch("*");
                        }
                    });
                    completed = true;
                    return true;
                } catch (S3Exception e) {
                    Boolean done = afterConditionalFailure(e, key, attempt);
                    if (done != null) {
                        return done; // (the upload is aborted below)
                    }
                } catch (SdkException e) {
                    throw errors.translate("completing the upload of blob " + key, e);
                }
            }
        } finally {
            if (!completed) {
                abort(key, uploadId);
            }
        }
    }

    private void abort(String key, String uploadId) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(location.bucket()).key(key).uploadId(uploadId));
        } catch (SdkException e) {
            // the bucket's lifecycle rule for incomplete uploads (if any) removes the parts; nothing else is left
            LOG.log(System.Logger.Level.WARNING, "cannot abort the upload {0} of {1} in {2}: {3}", uploadId, key, location.url(), e.getMessage());
        }
    }

    private void delete(String hash) {
        String key = location.key(hash);
        try {
            s3.deleteObject(b -> b.bucket(location.bucket()).key(key));
        } catch (SdkException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete {0} from {1} (its reads will fail their hash check): {2}",
                    key, location.url(), e.getMessage());
        }
    }

    /** {@code length} bytes of the file from {@code offset}. */
    private static InputStream slice(Path file, long offset, long length) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            ch.position(offset);
            return new Bounded(Channels.newInputStream(ch), length);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static long ceilMiB(long n) {
        long mib = 1L << 20;
        return (n + mib - 1) / mib * mib;
    }

    private static void pause(int attempt) throws IOException {
        try {
            Thread.sleep(100L << Math.min(attempt, 6)); // backoff while another writer of the same key finishes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting to write to the S3 store");
        }
    }

    private String tempName(String name) {
        String base = name.length() > 180 ? name.substring(0, 180) : name;
        byte[] b = new byte[8];
        random.nextBytes(b);
        return "." + base + ".sortie-" + HexFormat.of().formatHex(b) + ".tmp";
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** At most {@code limit} bytes of a stream. */
    private static final class Bounded extends FilterInputStream {
        private long left;

        Bounded(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }

    /** An object's bytes, hashed as they are read; at their end, an IOException naming the key if they are not the blob. */
    private static final class Checked extends FilterInputStream {
        private final ResponseInputStream<GetObjectResponse> response;
        private final String hash;
        private final String where;
        private final MessageDigest digest = newDigest();
        private long read;
        private boolean ended;

        Checked(ResponseInputStream<GetObjectResponse> in, String hash, String where) {
            super(in);
            this.response = in;
            this.hash = hash;
            this.where = where;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b < 0) {
                end();
            } else {
                digest.update((byte) b);
                read++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n < 0) {
                end();
            } else {
                digest.update(b, off, n);
                read += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            // skipped bytes must be hashed too
            byte[] buf = new byte[(int) Math.min(BUFFER, Math.max(n, 1))];
            long done = 0;
            while (done < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        private void end() throws IOException {
            if (ended) {
                return;
            }
            ended = true;
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equals(hash)) {
                throw new IOException("blob " + hash + " at " + where + " is corrupt: its content hashes to " + actual);
            }
        }

        /** A caller that read exactly the object's length (a tar entry of known size) gets the check too. */
        @Override
        public void close() throws IOException {
            Long length = response.response().contentLength();
            if (!ended && length != null && read == length) {
                try {
                    end();
                } finally {
                    super.close();
                }
                return;
            }
            if (!ended) {
                response.abort(); // not read to its end: drop the connection rather than download the rest
            }
            super.close();
        }
    }
}
