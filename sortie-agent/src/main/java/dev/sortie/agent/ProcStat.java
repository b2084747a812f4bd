package dev.sortie.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A process's state and group from Linux's {@code /proc/<pid>/stat}. Read directly because the JDK reports
 * zombies as alive, and because scanning /proc for a group's members is cheaper than forking {@code kill -0}.
 */
record ProcStat(long pid, char state, long pgid) {
    private static final System.Logger LOG = System.getLogger(ProcStat.class.getName());
    private static final Path PROC = Path.of("/proc");

    static boolean available() {
        return Files.isRegularFile(PROC.resolve("self/stat"));
    }

    boolean zombie() {
        return state == 'Z' || state == 'X';
    }

    static Optional<ProcStat> read(long pid) {
        try {
            String s = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.US_ASCII);
            // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
            int close = s.lastIndexOf(')');
            String[] f = s.substring(close + 2).split(" ");
            return Optional.of(new ProcStat(pid, f[0].charAt(0), Long.parseLong(f[2])));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    static boolean anyLiveInGroup(long pgid) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, p -> isNumber(p.getFileName().toString()))) {
            for (Path d : dirs) {
                Optional<ProcStat> st = read(Long.parseLong(d.getFileName().toString()));
                if (st.isPresent() && st.get().pgid() == pgid && !st.get().zombie()) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "/proc cannot be listed ({0}); asking the JDK whether {1} lives", e, String.valueOf(pgid));
            return ProcessHandle.of(pgid).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
