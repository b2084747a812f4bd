package dev.sortie.core.util;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Tells a full or read-only local disk from other failures, and says which folder it is and how much is free.
 * The JDK, JGit and SQLite report these without the path ("No space left on device", "[SQLITE_FULL] ... database or
 * disk is full", "Read-only file system"), so the CLI adds it.
 */
public final class LocalDisk {
    private static final String[] FULL = {"no space left on device", "disk quota exceeded", "sqlite_full", "database or disk is full"};

    private LocalDisk() {
    }

    /** Whether {@code t} or one of its causes says the disk is full. */
    public static boolean isFull(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (saysFull(c.getMessage())) {
                return true;
            }
        }
        return false;
    }

    /** Whether a recorded error message says the disk was full. */
    public static boolean saysFull(String message) {
        if (message == null) {
            return false;
        }
        String m = message.toLowerCase(Locale.ROOT);
        for (String f : FULL) {
            if (m.contains(f)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code t} or one of its causes says the file system is read-only. */
    public static boolean isReadOnly(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage();
            if (m != null && (m.contains("Read-only file system") || m.contains("SQLITE_READONLY"))) {
                return true;
            }
        }
        return false;
    }

    /** "the disk of /p/.sortie is full: 12 KiB free of 3.0 MiB", or without the sizes where they cannot be read. */
    public static String describeFull(Path folder) {
        Path existing = nearestExisting(folder);
        try {
            FileStore store = Files.getFileStore(existing);
            return "the disk of " + folder + " is full: " + bytes(store.getUsableSpace()) + " free of " + bytes(store.getTotalSpace());
        } catch (IOException e) {
            return "the disk of " + folder + " is full";
        }
    }

    /** "12 KiB free of 3.0 MiB" for the disk of {@code folder}, or "" where it cannot be read. */
    public static String free(Path folder) {
        try {
            FileStore store = Files.getFileStore(nearestExisting(folder));
            return bytes(store.getUsableSpace()) + " free of " + bytes(store.getTotalSpace());
        } catch (IOException e) {
            return "";
        }
    }

    private static Path nearestExisting(Path p) {
        Path a = p.toAbsolutePath();
        while (a.getParent() != null && !Files.exists(a)) {
            a = a.getParent();
        }
        return a;
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }
}
