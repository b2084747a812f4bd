package dev.sortie.executor.ssh;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds out what a host is with ONE remote command (a small POSIX sh script printing {@code key=value} lines):
 * OS, CPUs, memory, free disk in the home folder, NVIDIA GPUs, Java, and whether it can run Sortie.
 */
public final class HostProbe {
    public static final int MIN_JAVA = 17;
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern JAVA_VERSION = Pattern.compile("version \"([^\"]+)\"");

    /** The probe script; each fact on its own {@code key=value} line, none of them fatal when absent. */
    static final String SCRIPT = String.join("\n",
            "echo \"os=$(uname -sr 2>/dev/null)\"",
            "echo \"arch=$(uname -m 2>/dev/null)\"",
            "if [ -r /etc/os-release ]; then (. /etc/os-release 2>/dev/null; echo \"distro=${PRETTY_NAME:-$NAME}\"); fi",
            "echo \"cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)\"",
            "echo \"mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)\"",
            "echo \"home=$HOME\"",
            "echo \"disk_free_kb=$(df -Pk \"$HOME\" 2>/dev/null | awk 'NR==2 {print $4}')\"",
            "if command -v nvidia-smi >/dev/null 2>&1; then",
            "  nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits 2>/dev/null | sed 's/^/gpu=/'",
            "fi",
            "J=$(command -v java 2>/dev/null)",
            "if [ -z \"$J\" ] && [ -n \"$JAVA_HOME\" ] && [ -x \"$JAVA_HOME/bin/java\" ]; then J=\"$JAVA_HOME/bin/java\"; fi",
            "if [ -n \"$J\" ]; then echo \"java_path=$J\"; \"$J\" -version 2>&1 | head -n 1 | sed 's/^/java=/'; fi",
            "echo end=1",
            "");

    private HostProbe() {
    }

    public static HostReport probe(SshConnection connection) throws IOException {
        SshConnection.Result r = connection.script(SCRIPT, TIMEOUT);
        if (!r.stdout().contains("end=1")) {
            throw new SshConnectionException(SshConnectionException.Kind.OTHER, "probing " + connection.target().display()
                    + " failed (exit " + r.exitCode() + "): " + r.stderr().strip(), null);
        }
        return parse(connection.target().display(), r.stdout());
    }

    /** Parses the script's output. */
    static HostReport parse(String target, String output) {
        String os = null, distro = null, arch = null, home = null, javaPath = null, javaLine = null;
        int cpus = -1;
        long mem = -1, disk = -1;
        List<HostReport.Gpu> gpus = new ArrayList<>();
        for (String line : output.split("\r?\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String k = line.substring(0, eq);
            String v = line.substring(eq + 1).strip();
            switch (k) {
                case "os" -> os = blankToNull(v);
                case "arch" -> arch = blankToNull(v);
                case "distro" -> distro = blankToNull(v);
                case "cpus" -> cpus = (int) number(v);
                case "mem_kb" -> mem = times1024(number(v));
                case "home" -> home = blankToNull(v);
                case "disk_free_kb" -> disk = times1024(number(v));
                case "gpu" -> {
                    String[] f = v.split("\\s*,\\s*");
                    if (f.length >= 3) {
                        gpus.add(new HostReport.Gpu((int) number(f[0]), f[1], number(f[2])));
                    }
                }
                case "java_path" -> javaPath = blankToNull(v);
                case "java" -> javaLine = v;
                default -> {
                }
            }
        }
        String javaVersion = null;
        int major = -1;
        if (javaLine != null) {
            Matcher m = JAVA_VERSION.matcher(javaLine);
            if (m.find()) {
                javaVersion = m.group(1);
                major = javaMajor(javaVersion);
            }
        }
        List<String> missing = new ArrayList<>();
        String install = "install one (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless; "
                + "RHEL/Fedora: sudo dnf install -y java-17-openjdk-headless) so that `java` is on the PATH of a "
                + "non-interactive ssh session (or JAVA_HOME is set there)";
        if (javaPath == null) {
            missing.add("Java " + MIN_JAVA + " or newer: no java found; " + install);
        } else if (major < 0) {
            missing.add("Java " + MIN_JAVA + " or newer: " + javaPath + " did not tell its version (" + javaLine + "); " + install);
        } else if (major < MIN_JAVA) {
            missing.add("Java " + MIN_JAVA + " or newer: found Java " + javaVersion + " at " + javaPath + ", too old; " + install);
        }
        return new HostReport(target, os, distro, arch, cpus, mem, home, disk, gpus, javaPath, javaVersion, major, missing);
    }

    /** 17 from "17.0.15", "17", "21-ea", "17.0.2+8"; 8 from "1.8.0_292". */
    static int javaMajor(String version) {
        Matcher m = Pattern.compile("^(\\d+)(?:\\.(\\d+))?").matcher(version);
        if (!m.find()) {
            return -1;
        }
        int first = Integer.parseInt(m.group(1));
        if (first == 1 && m.group(2) != null) {
            return Integer.parseInt(m.group(2));
        }
        return first;
    }

    private static long number(String v) {
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static long times1024(long kb) {
        return kb < 0 ? -1 : kb * 1024;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
