package dev.sortie.executor.ssh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * One look at a remote attempt, in ONE command: whether its agent is alive, and what its journal and log hold
 * past the offsets this machine has (at most {@link #MAX_CHUNK} bytes of each per look). Every look is complete
 * on its own, so a dropped connection costs one look and nothing else.
 *
 * <p>The agent is alive if the pid it was started with ({@code agent-N.pid}, written by the launch) is still a
 * process whose command line is that agent's: a reused pid does not pass.
 */
final class RunPoll {
    static final int MAX_CHUNK = 4 << 20;
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** What a look does, with d (run dir), n (attempt), jo and lo (offsets), max (chunk) set: a header line, then the bytes. */
    private static final String BODY = String.join("\n",
            "j=\"$d/journal-$n.jsonl\"; l=\"$d/logs/attempt-$n.log\"; o=\"$d/agent-$n.out\"",
            "js=$(stat -c %s \"$j\" 2>/dev/null || echo -1)",
            "ls=$(stat -c %s \"$l\" 2>/dev/null || echo -1)",
            "alive=0; launched=0",
            "if [ -r \"$d/agent-$n.pid\" ]; then launched=1; fi",
            "if agent_alive \"$d\" \"$n\"; then alive=1; fi",
            "jl=0; if [ \"$js\" -gt \"$jo\" ]; then jl=$((js - jo)); fi; if [ \"$jl\" -gt \"$max\" ]; then jl=$max; fi",
            "ll=0; if [ \"$ls\" -gt \"$lo\" ]; then ll=$((ls - lo)); fi; if [ \"$ll\" -gt \"$max\" ]; then ll=$max; fi",
            "ol=0; if [ \"$alive\" = 0 ] && [ -s \"$o\" ]; then ol=$(stat -c %s \"$o\"); if [ \"$ol\" -gt 4000 ]; then ol=4000; fi; fi",
            "printf '%s %s %s %s %s %s %s\\n' \"$alive\" \"$js\" \"$ls\" \"$jl\" \"$ll\" \"$ol\" \"$launched\"",
            "if [ \"$jl\" -gt 0 ]; then tail -c +$((jo + 1)) \"$j\" | head -c \"$jl\"; fi",
            "if [ \"$ll\" -gt 0 ]; then tail -c +$((lo + 1)) \"$l\" | head -c \"$ll\"; fi",
            "if [ \"$ol\" -gt 0 ]; then tail -c \"$ol\" \"$o\"; fi",
            "");

    /** Positional parameters: run dir, attempt, journal offset, log offset, max chunk. One look, then exit. */
    static final String SCRIPT = AgentLaunch.AGENT_ALIVE + "d=$1; n=$2; jo=$3; lo=$4; max=$5\n" + BODY + "exit 0";

    /** The line after each answer of {@link #SERVE}: a reader that finds anything else there has lost the thread. */
    static final String ANSWER_END = "sortie-look-end";

    /**
     * Positional parameters: run dir, attempt, max chunk. Answers looks for as long as its stdin stays open: each
     * line "JOURNAL_OFFSET LOG_OFFSET" gets one look's answer, then {@link #ANSWER_END} on a line of its own.
     */
    static final String SERVE = AgentLaunch.AGENT_ALIVE + String.join("\n",
            "d=$1; n=$2; max=$3",
            "while read -r jo lo; do",
            "  case \"$jo:$lo\" in *[!0-9:]*|:*|*:) exit 2;; esac",
            "  {", // the look's commands read nothing from the requests' stdin
            BODY + "  } </dev/null",
            "  printf '%s\\n' " + ANSWER_END,
            "done");

    /**
     * What one look found.
     *
     * @param launched    whether an agent was ever started for the attempt (its pid file exists)
     * @param journalSize the journal's size on the host, -1 when there is none (the agent has not started, or never will)
     * @param journal     journal bytes from the offset asked for
     * @param log         log bytes from the offset asked for
     * @param agentOutput the end of what the agent itself printed, when it is not alive (why it died)
     */
    record Look(boolean launched, boolean agentAlive, long journalSize, long logSize, byte[] journal, byte[] log, String agentOutput) {
        boolean more() {
            return journal.length == MAX_CHUNK || log.length == MAX_CHUNK;
        }
    }

    private RunPoll() {
    }

    static Look look(SshConnection c, String runDir, int attempt, long journalOffset, long logOffset) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SshConnection.Result r = c.exec(List.of("sh", "-c", SCRIPT, "sortie-poll", runDir, Integer.toString(attempt),
                Long.toString(journalOffset), Long.toString(logOffset), Integer.toString(MAX_CHUNK)),
                InputStream.nullInputStream(), out, TIMEOUT);
        if (!r.ok()) {
            throw new IOException("looking at the run on " + c.target().display() + " failed (exit " + r.exitCode() + "): "
                    + r.stderr().strip());
        }
        return parse(out.toByteArray(), c.target().display());
    }

    /**
     * A shell on the host that answers looks at one attempt ({@link #SERVE}): one process start for a whole follow
     * instead of one per look (on a host whose ~/.bashrc does real work, each SSH command pays for it).
     */
    static final class Shell implements AutoCloseable {
        private final SshConnection connection;
        private final SshConnection.OpenCommand command;
        private final java.io.BufferedInputStream in;

        private Shell(SshConnection connection, SshConnection.OpenCommand command) {
            this.connection = connection;
            this.command = command;
            this.in = new java.io.BufferedInputStream(command.stdout(), 1 << 16);
        }

        static Shell open(SshConnection c, String runDir, int attempt) throws IOException {
            return new Shell(c, c.start(List.of("sh", "-c", SERVE, "sortie-looks", runDir, Integer.toString(attempt),
                    Integer.toString(MAX_CHUNK)), TIMEOUT));
        }

        /** Whether it still answers over {@code c} (a reconnection needs a new shell). */
        boolean usableOn(SshConnection c) {
            return connection == c && command.isOpen();
        }

        /** One look; any failure leaves the shell unusable (close it; a one-shot look says what is wrong). */
        Look look(long journalOffset, long logOffset) throws IOException {
            command.stdin().write((journalOffset + " " + logOffset + "\n").getBytes(StandardCharsets.US_ASCII));
            command.stdin().flush();
            String where = connection.target().display();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            String header = readLine(in, where);
            answer.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
            answer.write('\n');
            String[] h = header.trim().split(" ");
            if (h.length != 7) {
                throw new IOException("unexpected answer from " + where + " when looking at a run: " + header);
            }
            long body = Long.parseLong(h[3]) + Long.parseLong(h[4]) + Long.parseLong(h[5]);
            answer.writeBytes(in.readNBytes((int) body));
            String end = readLine(in, where);
            if (!end.equals(ANSWER_END)) {
                throw new IOException("the look at a run on " + where + " answered out of step");
            }
            return parse(answer.toByteArray(), where);
        }

        private static String readLine(InputStream in, String where) throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new IOException("the look at a run on " + where + " ended early");
                }
                if (sb.length() > 200) {
                    throw new IOException("unexpected answer from " + where + " when looking at a run: " + sb);
                }
                sb.append((char) b);
            }
            return sb.toString();
        }

        @Override
        public void close() {
            command.close();
        }
    }

    static Look parse(byte[] bytes, String where) throws IOException {
        int nl = 0;
        while (nl < bytes.length && bytes[nl] != '\n') {
            nl++;
        }
        String[] h = new String(bytes, 0, nl, StandardCharsets.US_ASCII).trim().split(" ");
        if (nl == bytes.length || h.length != 7) {
            throw new IOException("unexpected answer from " + where + " when looking at a run: "
                    + new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.UTF_8));
        }
        int jl = Integer.parseInt(h[3]);
        int ll = Integer.parseInt(h[4]);
        int ol = Integer.parseInt(h[5]);
        int at = nl + 1;
        if (bytes.length - at < jl + ll) {
            throw new IOException("short answer from " + where + " when looking at a run (connection cut?)");
        }
        byte[] journal = Arrays.copyOfRange(bytes, at, at + jl);
        byte[] log = Arrays.copyOfRange(bytes, at + jl, at + jl + ll);
        String agentOut = ol > 0 ? new String(bytes, at + jl + ll, Math.min(ol, bytes.length - at - jl - ll), StandardCharsets.UTF_8) : "";
        return new Look(h[6].equals("1"), h[0].equals("1"), Long.parseLong(h[1]), Long.parseLong(h[2]), journal, log, agentOut);
    }
}
