package dev.sortie.agent.remote;

import dev.sortie.core.executor.CodeFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The host's node-local cache of code blobs ({@code cache/code/<git blob id>}), shared by every experiment on
 * the host. A run's work folder is a copy of its files out of it: copies, not links, so a command that writes
 * into one of its files never changes the cache under the next experiment.
 */
public final class CodeCache {
    private final Path dir;

    public CodeCache(Path dir) {
        this.dir = dir;
    }

    /** Writes {@code files} into {@code root} (a fresh folder). */
    public void materialize(List<CodeFile> files, Path root) throws IOException {
        Path base = root.toAbsolutePath().normalize();
        for (CodeFile f : files) {
            Path target = base.resolve(f.path()).normalize();
            if (!target.startsWith(base) || target.equals(base)) {
                throw new IOException("refusing to write '" + f.path() + "' outside the work folder");
            }
            Path blob = dir.resolve(f.blobId());
            if (!f.blobId().matches("[0-9a-f]{40}([0-9a-f]{24})?")) {
                throw new IOException("'" + f.path() + "' names a malformed blob id '" + f.blobId() + "'");
            }
            Files.createDirectories(target.getParent());
            try {
                if (f.kind() == CodeFile.Kind.SYMLINK) {
                    Files.createSymbolicLink(target, Path.of(Files.readString(blob, StandardCharsets.UTF_8)));
                    continue;
                }
                Files.copy(blob, target);
            } catch (NoSuchFileException e) {
                if (!Files.exists(blob)) {
                    throw new IOException("the code of '" + f.path() + "' (blob " + f.blobId() + ") is not in the host's cache "
                            + dir + ": the sync did not complete", e);
                }
                throw e;
            }
            Set<PosixFilePermission> perms = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                    PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
            if (f.kind() == CodeFile.Kind.EXECUTABLE) {
                perms.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                        PosixFilePermission.OTHERS_EXECUTE));
            }
            Files.setPosixFilePermissions(target, perms);
        }
    }
}
