package dev.sortie.store;

import dev.sortie.core.store.BlobStore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A {@link BlobStore} in a local folder: blob {@code abcdef...} lives at {@code objects/ab/cdef...}. Every write goes
 * to a temp file on the same file system first, is fsynced, then renamed into place, so a blob path either does not
 * exist or holds the complete content, whatever crashes or runs beside it. Several processes may put the same content
 * at once: each renames an identical file onto the same name, and any of them winning is correct.
 */
public final class LocalBlobStore implements BlobStore {
    private static final System.Logger LOG = System.getLogger(LocalBlobStore.class.getName());
    private static final String OBJECTS = "objects";
    private static final String TMP = "tmp";
    private static final int BUFFER = 1 << 16;

    private final Path root;
    private final SecureRandom random = new SecureRandom();

    public LocalBlobStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    @Override
    public String put(Path file) throws IOException {
        // NoSuchFileException passes through untouched: callers saving files that may vanish rely on it.
        try (InputStream in = Files.newInputStream(file)) {
            return put(in);
        }
    }

    @Override
    public String put(InputStream in) throws IOException {
        Path tmpDir = root.resolve(TMP);
        Files.createDirectories(tmpDir);
        Path tmp = tmpDir.resolve("put-" + ProcessHandle.current().pid() + "-" + token() + ".tmp");
        try {
            MessageDigest digest = BlobHash.newDigest();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 OutputStream out = Channels.newOutputStream(ch)) {
                copy(in, out, digest);
                ch.force(true);
            }
            String hash = BlobHash.hex(digest.digest());
            Path target = blobPath(hash);
            if (Files.isRegularFile(target)) {
                return hash;
            }
            Files.createDirectories(target.getParent());
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException e) {
                // Platforms whose rename does not replace: someone else stored the same bytes first, which is fine.
            }
            fsyncDirectory(target.getParent());
            return hash;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public boolean contains(String hash) {
        return Files.isRegularFile(blobPath(BlobHash.require(hash)));
    }

    @Override
    public long size(String hash) throws IOException {
        String h = BlobHash.require(hash);
        try {
            return Files.size(blobPath(h));
        } catch (NoSuchFileException e) {
            throw new BlobNotFoundException(h, location());
        }
    }

    @Override
    public InputStream open(String hash) throws IOException {
        String h = BlobHash.require(hash);
        try {
            return Files.newInputStream(blobPath(h));
        } catch (NoSuchFileException e) {
            throw new BlobNotFoundException(h, location());
        }
    }

    /** Writes the blob to {@code target} through a temp sibling and a rename, checking the content against its hash. */
    @Override
    public void get(String hash, Path target) throws IOException {
        String h = BlobHash.require(hash);
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(tempName(abs.getFileName().toString()));
        try {
            MessageDigest digest = BlobHash.newDigest();
            try (InputStream in = open(h);
                 FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 OutputStream out = Channels.newOutputStream(ch)) {
                copy(in, out, digest);
                ch.force(true);
            }
            String actual = BlobHash.hex(digest.digest());
            if (!actual.equals(h)) {
                throw new IOException("blob " + h + " in the store at " + location() + " is corrupt: its content hashes to " + actual);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public String location() {
        return root.toUri().toString();
    }

    /** The file that holds a blob (whether or not it is there): read it, never write it. */
    public Path file(String hash) {
        return blobPath(hash);
    }

    /** The path a (validated) blob has in this store, whether or not it is there. */
    Path blobPath(String hash) {
        String h = BlobHash.require(hash);
        return root.resolve(OBJECTS).resolve(h.substring(0, 2)).resolve(h.substring(2));
    }

    private static void copy(InputStream in, OutputStream out, MessageDigest digest) throws IOException {
        byte[] buf = new byte[BUFFER];
        int n;
        while ((n = in.read(buf)) >= 0) {
            digest.update(buf, 0, n);
            out.write(buf, 0, n);
        }
    }

    private String tempName(String name) {
        // Keep the temp name within common 255-byte name limits even for long targets.
        String base = name.length() > 180 ? name.substring(0, 180) : name;
        return "." + base + ".sortie-" + token() + ".tmp";
    }

    private String token() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Makes the rename itself durable; not every platform can open a directory, and then there is nothing to do. */
    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.TRACE, "{0} cannot be synced: {1}", dir, e);
            // best effort
        }
    }
}
