package dev.sortie.executor.remote.host;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * The two remote steps that start and stop an agent, each ONE command whose inputs arrive as positional
 * parameters of a fixed script (never spliced into it), so no name, path or param can become shell code.
 */
public final class AgentLaunch {
    public static final String MAIN = "dev.sortie.agent.remote.AgentMain";
    /** Small and quick to start: the agent mostly waits; C1 alone starts faster and is plenty for parsing output. */
    public static final String JVM_FLAGS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx1g -Dfile.encoding=UTF-8";
    /** Finds java as a login would: PATH, then JAVA_HOME; sets J (empty when there is none). */
    static final String FIND_JAVA = "J=$(command -v java 2>/dev/null); "
            + "if [ -z \"$J\" ] && [ -n \"$JAVA_HOME\" ] && [ -x \"$JAVA_HOME/bin/java\" ]; then J=\"$JAVA_HOME/bin/java\"; fi; ";
    /** {@link #FIND_JAVA}, or exit 127 when there is none. */
    public static final String JAVA = FIND_JAVA
            + "if [ -z \"$J\" ]; then echo 'no java on PATH (nor in JAVA_HOME)' >&2; exit 127; fi; ";
    /**
     * Gives the agent's JVM a UTF-8 locale when the host's session has none (sshd sets no LANG without PAM, and
     * many hosts set none): JDK 17 takes the charset of file names, argv and the environment it passes on
     * (sun.jnu.encoding) from the locale alone, so in ASCII every non-ASCII param reached the program as '?' and a
     * non-ASCII file name failed the run. The first UTF-8 locale the host has (C.UTF-8 on Debian, Ubuntu, glibc
     * 2.35+), or C.UTF-8 untested where there is no {@code locale}. Only LC_CTYPE is set (LC_ALL only where the
     * session forces one, which would override it): messages, collation and number formats stay the host's. The
     * run's program inherits it, as Python's own locale coercion would set it.
     */
    public static final String UTF8_LOCALE = String.join("\n",
            "case $(locale charmap 2>/dev/null) in UTF-8|utf8|utf-8) ;; *)",
            "  lu=C.UTF-8",
            "  for lc in C.UTF-8 C.utf8 en_US.UTF-8 en_US.utf8; do",
            "    case $(LC_ALL=$lc locale charmap 2>/dev/null) in UTF-8|utf8|utf-8) lu=$lc; break;; esac",
            "  done",
            "  if [ -n \"${LC_ALL-}\" ]; then LC_ALL=$lu; export LC_ALL; else LC_CTYPE=$lu; export LC_CTYPE; fi;;",
            "esac",
            "");
    /**
     * A shell function: {@code agent_alive DIR N} succeeds if the agent started for attempt N of the run in DIR (its
     * pid in {@code agent-N.pid}, written by the launch) is still that agent: a reused pid has another command line.
     */
    static final String AGENT_ALIVE = String.join("\n",
            "agent_alive() {",
            "  p=$(cat \"$1/agent-$2.pid\" 2>/dev/null)",
            "  case \"$p\" in ''|*[!0-9]*) return 1;; esac",
            "  [ -r \"/proc/$p/cmdline\" ] && tr '\\000' ' ' < \"/proc/$p/cmdline\" | grep -qF \"AgentMain run $1 $2 \"",
            "}",
            "");
    /** How long one of these commands may take. */
    public static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);
    static final int EXIT_SLOT_BUSY = 75;
    static final int EXIT_NO_JAVA = 127;
    static final int EXIT_CANNOT_WRITE = 73;
    public static final int EXIT_AGENT_MISSING = 76;
    static final int EXIT_CODE_MISSING = 77;

    /**
     * A class-data-sharing archive for the agent's JVM, so it starts in about half the time (the classes it loads
     * are mapped from one file instead of read, verified and parsed from jars). Made on the host by the host's own
     * java, since an archive fits only the JVM that made it: the first launch records which classes the agent
     * loads; the next one makes the archive from that list in the background (nice, its own session; one at a
     * time, by flock); later launches use it. {@code $ck} names it: the agent's classpath (content-named jars), and
     * the java binary's change time and size are added here, so a new agent or a new JDK gets a new archive. A JVM
     * that cannot use an archive ignores it ({@code -Xshare:auto}); one that failed to be made is not tried again.
     * JDK 17 crashes dumping some lambda proxies, so those lines of the list are left out (lambdas load as usual).
     * Nothing is recorded or made where the disk is small ({@link #CDS_MIN_FREE_KB}).
     */
    /**
     * The free space (KiB) remote_dir's disk must have for the archive to be made: it is a cache of tens of MB, and a
     * small disk is better left to the runs' logs, checkpoints and artifacts.
     */
    static final long CDS_MIN_FREE_KB = 256 * 1024;

    static final String CDS = String.join("\n",
            "set --", // the JVM's archive flag, if any, as "$@": remote_dir may hold spaces
            "if [ -n \"$ck\" ]; then",
            "  a=\"$ck-$(stat -L -c %Z-%s \"$J\" 2>/dev/null).jsa\"",
            "  if [ -f \"$a\" ]; then set -- \"-XX:SharedArchiveFile=$a\"",
            // an archive takes tens of MB: none is made where remote_dir's disk has less than CDS_MIN_FREE_KB free
            "  elif [ ! -e \"$a.failed\" ] && mkdir -p \"${a%/*}\" 2>/dev/null \\",
            "      && [ \"$(df -Pk \"${a%/*}\" 2>/dev/null | awk 'NR==2 {print $4}')\" -gt " + CDS_MIN_FREE_KB + " ] 2>/dev/null; then",
            "    l=''; for f in \"$a\".list.*; do [ -s \"$f\" ] && l=$f && break; done",
            "    if [ -n \"$l\" ]; then",
            "      setsid sh -c 'exec 9>\"$1.lock\"; flock -n 9 || exit 0; [ -f \"$1\" ] && exit 0",
            "        grep -v \"^@lambda\" \"$3\" > \"$1.classes\" || exit 0",
            "        if nice -n 10 \"$2\" -Xshare:dump -XX:SharedClassListFile=\"$1.classes\" -XX:SharedArchiveFile=\"$1.tmp\" -cp \"$4\"; then",
            "          mv -f \"$1.tmp\" \"$1\"; else : > \"$1.failed\"; rm -f \"$1.tmp\"; fi",
            // archives of other agent versions or JDKs go after a week unused (mapping one reads it; another laptop may still use it)
            "        rm -f \"$1.classes\" \"$1\".list.*; find \"${1%/*}\" -maxdepth 1 -type f -atime +7 -exec rm -f {} +' sortie-cds \"$a\" \"$J\" \"$l\" \"$cp\" </dev/null >/dev/null 2>&1 &",
            "    else set -- \"-XX:DumpLoadedClassList=$a.list.$$\"; fi",
            "  fi",
            "fi");

    /**
     * Positional parameters: agent classpath, run dir, attempt, slots dir ('' for none), slot index, a code marker
     * that must exist ('' for none), the agent's class-data archive name without its suffix ('' for none, see
     * {@link #CDS}). Stdin: the run
     * file. The agent runs in a session of its own (setsid), its stdio away from the SSH channel, so closing the
     * connection does not touch it. A slot is held through an open file descriptor the agent inherits: the lock
     * lives exactly as long as the agent (Java does not pass it on to the command).
     */
    static final String LAUNCH = AGENT_ALIVE + String.join("\n",
            "cp=$1; d=$2; n=$3; sd=$4; si=$5; mk=$6; ck=$7",
            // the code's cache marker, when this machine remembers syncing that tree here: check it is still there
            "if [ -n \"$mk\" ] && [ ! -e \"$mk\" ]; then exit " + EXIT_CODE_MISSING + "; fi",
            // the classpath may come from this machine's memory of an earlier install: check it is still there
            "old=$IFS; IFS=:; set -f; for f in $cp; do [ -f \"$f\" ] || exit " + EXIT_AGENT_MISSING + "; done; IFS=$old; set +f",
            "mkdir -p \"$d/logs\" || exit " + EXIT_CANNOT_WRITE,
            // The run file holds the run's environment, its server token (SORTIE_TOKEN) among it: readable by this
            // user alone (a new file, made under umask 077: an old .tmp would keep its mode), as the process's own
            // environment is (/proc/PID/environ).
            "rm -f \"$d/run-$n.json.tmp\"",
            "(umask 077 && cat > \"$d/run-$n.json.tmp\") && mv -f \"$d/run-$n.json.tmp\" \"$d/run-$n.json\" || exit " + EXIT_CANNOT_WRITE,
            "rm -f \"$d/stop-$n\" \"$d/journal-$n.jsonl\" \"$d/agent-$n.pid\" \"$d/agent-$n.out\"",
            JAVA,
            UTF8_LOCALE,
            CDS, // before the slot's lock is taken: the archive's maker must not inherit it
            "if [ -n \"$sd\" ]; then",
            "  mkdir -p \"$sd\" || exit " + EXIT_CANNOT_WRITE,
            "  exec 9>\"$sd/$si.lock\"",
            "  flock -n 9 || exit " + EXIT_SLOT_BUSY,
            "fi",
            // a JVM without class-data sharing ignores the archive flags rather than refusing to start
            "setsid \"$J\" " + JVM_FLAGS + " -XX:+IgnoreUnrecognizedVMOptions \"$@\" -cp \"$cp\" " + MAIN + " run \"$d\" \"$n\" </dev/null >\"$d/agent-$n.out\" 2>&1 &",
            "p=$!",
            "echo $p > \"$d/agent-$n.pid\"",
            // Until the forked shell has exec'd the agent, its pid's command line is this shell's: a look in that
            // moment finds no agent alive, no journal and nothing printed, and takes the attempt as one whose agent
            // never started (seen with four launches at once on one host). Wait for the exec, 5 s at most; not for an agent
            // that already ended (a zombie until this shell ends: its error is in agent-N.out for the look to tell).
            "i=0; while [ \"$i\" -lt 100 ] && [ -r \"/proc/$p/status\" ] && ! grep -q '^State:[[:space:]]*Z' \"/proc/$p/status\" \\",
            "    && ! agent_alive \"$d\" \"$n\"; do sleep 0.05; i=$((i + 1)); done",
            "echo $p");

    /**
     * Positional parameters: run dir, attempt, grace seconds, the command's process group (0 if unknown), experiment
     * id. The agent, if alive, sees the stop file and stops its command itself (and records the stop); if it is
     * dead, the command's group is signalled here, but only if it still is that experiment's (its environment says so).
     */
    static final String STOP = AGENT_ALIVE + String.join("\n",
            "d=$1; n=$2; g=$3; pg=$4; id=$5",
            "[ -d \"$d\" ] || exit 0",
            "printf '%s' \"$g\" > \"$d/stop-$n\"",
            "if agent_alive \"$d\" \"$n\"; then echo agent; exit 0; fi",
            "case \"$pg\" in ''|*[!0-9]*) pg=0;; esac",
            "if [ \"$pg\" -gt 0 ] && tr '\\000' '\\n' < \"/proc/$pg/environ\" 2>/dev/null | grep -qxF \"SORTIE_EXPERIMENT_ID=$id\"; then",
            "  kill -TERM -- \"-$pg\" 2>/dev/null",
            "  (sleep \"$g\"; kill -KILL -- \"-$pg\" 2>/dev/null) >/dev/null 2>&1 </dev/null &",
            "  echo group; exit 0",
            "fi",
            "echo none");

    private AgentLaunch() {
    }

    /** The host lost code this machine remembered syncing there (its cache was cleaned up): sync it again. */
    public static final class CodeMissingException extends IOException {
        CodeMissingException(String message) {
            super(message);
        }
    }

    /** The host lost the agent this machine remembered installing there (remote_dir cleaned up): install it again. */
    public static final class AgentMissingException extends IOException {
        AgentMissingException(String message) {
            super(message);
        }
    }

    /**
     * The name (without suffix) of the class-data archive for an agent with this classpath, or null when archives
     * are turned off ({@code SORTIE_AGENT_CDS=off}, for a host whose JVM misbehaves with them).
     */
    public static String archiveName(RemoteLayout layout, String classpath, String setting) {
        if ("off".equalsIgnoreCase(setting) || "0".equals(setting) || "false".equalsIgnoreCase(setting)) {
            return null;
        }
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(classpath.getBytes(StandardCharsets.UTF_8));
            return layout.agentDir() + "/cds/" + java.util.HexFormat.of().formatHex(h, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Starts the agent on the host and returns its pid. */
    public static long launch(HostCalls host, HostChannel c, String classpath, String runDir, int attempt, String slotsDir, Slot slot,
                       byte[] runFile, String codeMarker, String archive) throws IOException {
        String hostDisplay = host.display();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostChannel.Result r = host.call(c, "sortie_launch", List.of(classpath, runDir, Integer.toString(attempt),
                        slot == null ? "" : slotsDir, slot == null ? "" : Integer.toString(slot.index()),
                        codeMarker == null ? "" : codeMarker, archive == null ? "" : archive),
                new String(runFile, StandardCharsets.UTF_8), out, COMMAND_TIMEOUT, false);
        String stdout = out.toString(StandardCharsets.UTF_8).strip();
        if (r.exitCode() != null && r.exitCode() == EXIT_CODE_MISSING) {
            throw new CodeMissingException("the code's cache marker is gone from " + hostDisplay);
        }
        if (r.exitCode() != null && r.exitCode() == EXIT_SLOT_BUSY) {
            throw new SlotBusyException("slot " + slot.index() + " on " + hostDisplay + " is taken by another run");
        }
        if (r.exitCode() != null && r.exitCode() == EXIT_AGENT_MISSING) {
            throw new AgentMissingException("the agent's jars are no longer in " + runDir.substring(0, Math.max(0, runDir.indexOf("/runs/")))
                    + "/agent on " + hostDisplay);
        }
        if (r.exitCode() != null && r.exitCode() == EXIT_NO_JAVA) {
            throw new IOException("no Java on " + hostDisplay + ": the agent needs Java " + HostProbe.MIN_JAVA
                    + "+ there (e.g. sudo apt-get install -y openjdk-17-jre-headless); 'sortie executor test' checks the host");
        }
        if (!r.ok() || !stdout.matches("\\d+")) {
            throw new IOException("starting the agent on " + hostDisplay + " failed (exit " + r.exitCode() + "): "
                    + (r.stderr().isBlank() ? stdout : r.stderr().strip())
                    + (r.exitCode() != null && r.exitCode() == EXIT_CANNOT_WRITE ? " (cannot write under " + runDir + ": disk full or no permission?)" : ""));
        }
        return Long.parseLong(stdout);
    }

    /** Asks a run to stop; true if something was running (an agent, or a leftover process group). */
    public static boolean requestStop(HostChannel c, RemoteLayout layout, String experimentId, int attempt, Duration grace,
                               long processGroup) throws IOException {
        HostChannel.Result r = c.exec(List.of("sh", "-c", STOP, "sortie-stop", layout.runDir(experimentId), Integer.toString(attempt),
                Long.toString(Math.max(1, grace.toSeconds())), Long.toString(processGroup), experimentId), COMMAND_TIMEOUT);
        if (!r.ok()) {
            throw new IOException("stopping the run on " + c.where() + " failed (exit " + r.exitCode() + "): " + r.stderr().strip());
        }
        return !r.stdout().strip().equals("none");
    }

    public static boolean requestStop(HostChannel c, RemoteLayout layout, String experimentId, int attempt, Duration grace) throws IOException {
        return requestStop(c, layout, experimentId, attempt, grace, 0);
    }
}
