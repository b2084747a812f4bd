package dev.sortie.executor.remote.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.executor.CodeFile;
import dev.sortie.core.store.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A run's code in the project's store, for nodes that read the store themselves: each code blob (named by its git id
 * in the snapshot) is put into the store under its SHA-256, once for every instance, and the run tells its node
 * which SHA-256 holds which git blob; the node fills its code cache from the store (checking each blob's git id)
 * instead of this machine sending the code over SSH to each new instance.
 *
 * <p>This machine remembers which file lists it published to which store ({@code .sortie/cache/store-code/}), so a
 * run of code already there costs no request to the store.
 */
public final class StoreCode {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Puts at once: the store's requests are round trips, not bandwidth, for code. */
    private static final int PARALLEL = 8;

    private StoreCode() {
    }

    /**
     * Makes sure every code blob of {@code files} is in {@code store}.
     *
     * @param stateDir the project's .sortie folder (null: remember nothing, ask the store every time)
     * @return git blob id to SHA-256 in the store, for every distinct blob of {@code files}
     */
    public static Map<String, String> publish(List<CodeFile> files, CodeSync.BlobOpener opener, BlobStore store, Path stateDir)
            throws IOException {
        TreeSet<String> blobs = new TreeSet<>();
        files.forEach(f -> blobs.add(f.blobId()));
        String tree = CodeSync.treeId(blobs);
        Path index = stateDir == null ? null : stateDir.resolve("cache").resolve("store-code")
                .resolve(sha256(store.location().replaceAll("/+$", "")).substring(0, 16)) // a folder's URI may end in '/' or not
                .resolve(tree + ".json");
        if (index != null && Files.isRegularFile(index)) {
            Map<String, String> known = read(index);
            if (known.keySet().containsAll(blobs)) {
                return known;
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(PARALLEL, Math.max(1, blobs.size())), r -> {
            Thread t = new Thread(r, "sortie-code-to-store");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<String>> puts = new ArrayList<>();
            for (String blob : blobs) {
                puts.add(pool.submit(() -> {
                    try (InputStream in = opener.open(blob)) {
                        return store.put(in);
                    }
                }));
            }
            int i = 0;
            for (String blob : blobs) {
                out.put(blob, puts.get(i++).get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while putting the code into " + store.location());
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? new IOException("cannot put the code into " + store.location() + ": " + io.getMessage(), io)
                    : new IOException("cannot put the code into " + store.location() + ": " + c, c);
        } finally {
            pool.shutdownNow();
        }
        if (index != null) {
            Files.createDirectories(index.getParent());
            Path tmp = index.resolveSibling(index.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            ObjectNode n = JSON.createObjectNode();
            out.forEach(n::put);
            Files.write(tmp, JSON.writeValueAsBytes(n));
            Files.move(tmp, index, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return out;
    }

    private static String sha256(String s) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> read(Path index) {
        Map<String, String> m = new LinkedHashMap<>();
        try {
            JSON.readTree(index.toFile()).fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        } catch (IOException e) {
            System.getLogger(StoreCode.class.getName()).log(System.Logger.Level.DEBUG, "{0} is not readable ({1}); the code is put again", index, e);
            m.clear();
        }
        return m;
    }
}
