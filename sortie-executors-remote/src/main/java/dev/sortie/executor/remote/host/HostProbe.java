package dev.sortie.executor.remote.host;

import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.channel.ShellQuote;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds out what a host is with ONE remote command (a small POSIX sh script printing {@code key=value} lines):
 * OS, CPUs, memory, NVIDIA GPUs, Java, whether the executor's {@code remote_dir} can be created and written and how
 * much disk is free there, and so whether it can run Sortie and what to fix.
 */
public final class HostProbe {
    static final int MIN_JAVA = 17;
    /** Less free disk than this in remote_dir's filesystem is warned about: code, checkpoints and artifacts go there. */
    static final long LOW_DISK_BYTES = 1L << 30;
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern JAVA_VERSION = Pattern.compile("version \"([^\"]+)\"");
    private static final String INSTALL_JAVA = "install one (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless; "
            + "RHEL/Fedora: sudo dnf install -y java-17-openjdk-headless) so that `java` is on the PATH of a "
            + "non-interactive ssh session (or JAVA_HOME is set there)";

    private HostProbe() {
    }

    /**
     * The probe script for a remote_dir ({@code ~}, {@code ~/...} or absolute); each fact on its own {@code key=value}
     * line, none of them fatal when absent. It creates remote_dir ({@code mkdir -p}) and writes a file in it to know
     * it can, then removes the file.
     */
    static String script(String remoteDir) {
        return String.join("\n",
                "D=" + shellPath(remoteDir),
                "echo \"os=$(uname -sr 2>/dev/null)\"",
                "echo \"arch=$(uname -m 2>/dev/null)\"",
                "if [ -r /etc/os-release ]; then (. /etc/os-release 2>/dev/null; echo \"distro=${PRETTY_NAME:-$NAME}\"); fi",
                "echo \"cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)\"",
                "echo \"mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)\"",
                "echo \"home=$HOME\"",
                "echo \"user=$(id -un 2>/dev/null)\"",
                "echo \"remote_dir=$D\"",
                "if E=$(mkdir -p -- \"$D\" 2>&1); then",
                "  T=\"$D/.sortie-probe.$$\"",
                "  if E=$( (echo ok > \"$T\") 2>&1 ) && [ -s \"$T\" ]; then echo remote_dir_ok=1;",
                "  else echo \"remote_dir_error=cannot write in it: $(printf '%s' \"$E\" | tr '\\n' ' ')\"; fi",
                "  rm -f -- \"$T\"",
                "else",
                "  echo \"remote_dir_error=cannot create it: $(printf '%s' \"$E\" | tr '\\n' ' ')\"",
                "fi",
                // free space where remote_dir is, or would be: its nearest existing folder
                "P=\"$D\"; while [ ! -d \"$P\" ] && [ \"$P\" != / ]; do P=$(dirname -- \"$P\"); done",
                "echo \"disk_free_kb=$(df -Pk -- \"$P\" 2>/dev/null | awk 'NR==2 {print $4}')\"",
                "if command -v nvidia-smi >/dev/null 2>&1; then",
                "  if G=$(nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits 2>&1); then",
                "    printf '%s\\n' \"$G\" | sed 's/^/gpu=/'",
                "  else R=$?; echo \"nvidia_smi_error=exit $R: $(printf '%s' \"$G\" | head -n 3 | tr '\\n' ' ')\"; fi",
                "fi",
                AgentLaunch.FIND_JAVA, // java as the agent's launch finds it
                "if [ -n \"$J\" ]; then echo \"java_path=$J\"; \"$J\" -version 2>&1 | head -n 1 | sed 's/^/java=/'; fi",
                "echo end=1",
                "");
    }

    /** remote_dir as one shell word: {@code ~} is the remote user's $HOME (expanded there), the rest quoted literally. */
    static String shellPath(String remoteDir) {
        if (remoteDir.equals("~")) {
            return "\"$HOME\"";
        }
        if (remoteDir.startsWith("~/")) {
            return "\"$HOME\"/" + ShellQuote.quote(remoteDir.substring(2));
        }
        return ShellQuote.quote(remoteDir);
    }

    /** Probes with the default remote_dir ({@value RemoteLayout#DEFAULT_ROOT}). */
    public static HostReport probe(HostChannel connection) throws IOException {
        return probe(connection, RemoteLayout.DEFAULT_ROOT);
    }

    /** Probes the host, checking the executor's {@code remote_dir} (creating it when missing). */
    public static HostReport probe(HostChannel connection, String remoteDir) throws IOException {
        HostChannel.Result r = connection.script(script(remoteDir), TIMEOUT);
        if (!r.stdout().contains("end=1")) {
            throw new ChannelException(ChannelException.Kind.OTHER, "probing " + connection.where()
                    + " failed (exit " + r.exitCode() + "): " + r.stderr().strip(), null);
        }
        return parse(connection.where(), r.stdout());
    }

    /** Parses the script's output and says what is missing (blocks running) and what is worth a warning. */
    static HostReport parse(String target, String output) {
        String os = null, distro = null, arch = null, home = null, user = null, javaPath = null, javaLine = null;
        String remoteDir = null, remoteDirError = null, gpuError = null;
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
                case "user" -> user = blankToNull(v);
                case "remote_dir" -> remoteDir = blankToNull(v);
                case "remote_dir_error" -> remoteDirError = v;
                case "disk_free_kb" -> disk = times1024(number(v));
                case "gpu" -> {
                    String[] f = v.split("\\s*,\\s*");
                    if (f.length >= 3) {
                        gpus.add(new HostReport.Gpu((int) number(f[0]), f[1], number(f[2])));
                    }
                }
                case "nvidia_smi_error" -> gpuError = v;
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
        if (javaPath == null) {
            missing.add("Java " + MIN_JAVA + " or newer: no java found; " + INSTALL_JAVA);
        } else if (major < 0) {
            missing.add("Java " + MIN_JAVA + " or newer: " + javaPath + " did not tell its version (" + javaLine + "); " + INSTALL_JAVA);
        } else if (major < MIN_JAVA) {
            missing.add("Java " + MIN_JAVA + " or newer: found Java " + javaVersion + " at " + javaPath + ", too old; " + INSTALL_JAVA);
        }
        if (remoteDirError != null) {
            String who = user == null ? "the ssh user" : user;
            String dir = remoteDir == null ? "remote_dir" : remoteDir;
            // a permission problem can be fixed in place; anything else (a file in the way, a read-only filesystem) cannot
            boolean permission = remoteDirError.contains("Permission denied");
            missing.add("a writable remote_dir: " + dir + ": " + remoteDirError.strip() + "; set 'remote_dir:' on the executor to a "
                    + "folder " + who + " can write" + (permission ? ", or make this one theirs (sudo mkdir -p " + ShellQuote.quote(dir)
                    + " && sudo chown " + who + " " + ShellQuote.quote(dir) + ")" : ""));
        }
        List<String> warnings = new ArrayList<>();
        if (disk >= 0 && disk < LOW_DISK_BYTES) {
            warnings.add("low disk: only " + (disk >> 20) + " MiB free in the filesystem of " + (remoteDir == null ? "remote_dir" : remoteDir)
                    + " (under 1 GiB); code, checkpoints and artifacts are kept there: free some space, or set 'remote_dir:' on the "
                    + "executor to a bigger filesystem");
        }
        if (gpuError != null) {
            warnings.add("GPUs: nvidia-smi is installed but failed (" + gpuError.strip() + "); runs that need a GPU will fail until it "
                    + "works: run nvidia-smi on the host and fix the NVIDIA driver (often: it is not loaded, or does not match the "
                    + "kernel after an update; reboot or reinstall the driver)");
        }
        return new HostReport(target, os, distro, arch, cpus, mem, home, disk, gpus, javaPath, javaVersion, major, missing,
                user, remoteDir, gpuError, warnings);
    }

    /** 17 from "17.0.15", "17", "21-ea", "17.0.2+8"; 8 from "1.8.0_292". */
    public static int javaMajor(String version) {
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
