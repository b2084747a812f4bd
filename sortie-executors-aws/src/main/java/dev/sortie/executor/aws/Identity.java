package dev.sortie.executor.aws;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Who launches: the owner, project and process that Sortie's tags name, and where this user's aws files live
 * ({@code $XDG_CONFIG_HOME/sortie/aws}, else {@code ~/.config/sortie/aws}): login keys (0600) and per-instance known_hosts.
 *
 * @param owner   the local user name (tag {@value Tags#OWNER})
 * @param project the project's folder name and a hash of its path (tag {@value Tags#PROJECT})
 */
record Identity(String owner, String project, Path configDir) {

    static Identity of(Path projectDir) {
        String owner = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        String project = projectDir == null ? "-" : projectDir.getFileName() + "-"
                + Provisioner.shortHash(projectDir.toAbsolutePath().normalize().toString());
        String prop = System.getProperty("sortie.config.dir");
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path dir = prop != null && !prop.isBlank() ? Path.of(prop)
                : (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config")).resolve("sortie");
        return new Identity(owner, project, dir.resolve("aws"));
    }

    Path keyFile(String executor) {
        return configDir.resolve("keys").resolve(project + "-" + executor.replaceAll("[^A-Za-z0-9_.-]", "_") + "_ed25519");
    }

    /** The lock of launches of an executor of this project, shared by this user's sortie processes ({@code Provisioner.launchLock}). */
    Path launchLockFile(String executor) {
        return configDir.resolve("locks").resolve(project + "-" + executor.replaceAll("[^A-Za-z0-9_.-]", "_") + ".lock");
    }

    Path knownHostsFile(String executor, String label) {
        return configDir.resolve("known_hosts").resolve(executor.replaceAll("[^A-Za-z0-9_.-]", "_") + "-"
                + label.replaceAll("[^A-Za-z0-9_.-]", "_"));
    }

    /** This process, as tag {@value Tags#LAUNCHER} names it: host, pid and start time. */
    String launcher() {
        ProcessHandle me = ProcessHandle.current();
        long start = me.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        return host() + ":" + me.pid() + ":" + start;
    }

    /** Whether the process a launcher tag names is alive: unknown (true) for another machine's. */
    static boolean launcherAlive(String tag) {
        if (tag == null) {
            return false;
        }
        String[] p = tag.split(":");
        if (p.length != 3 || !p[0].equals(host())) {
            return true;
        }
        try {
            long pid = Long.parseLong(p[1]);
            long start = Long.parseLong(p[2]);
            return ProcessHandle.of(pid).filter(h -> h.info().startInstant().map(Instant::toEpochMilli).orElse(0L) == start).isPresent();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName().replace(':', '_');
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }
}
