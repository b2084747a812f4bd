package dev.sortie.executor.remote.host;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * One look at a remote attempt, in ONE call (through the host's shell, see {@link HostShell}): whether its agent is
 * alive, and what its journal and log hold past the offsets this machine has (at most {@link #MAX_CHUNK} bytes of
 * each per look). Every look is complete on its own, so a dropped connection costs one look and nothing else.
 *
 * <p>The agent is alive if the pid it was started with ({@code agent-N.pid}, written by the launch) is still a
 * process whose command line is that agent's: a reused pid does not pass.
 */
public final class RunPoll {
    public static final int MAX_CHUNK = 4 << 20;
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** Positional parameters: run dir, attempt, journal offset, log offset, max chunk. A header line, then the bytes. */
    public static final String SCRIPT = AgentLaunch.AGENT_ALIVE + String.join("\n",
            "d=$1; n=$2; jo=$3; lo=$4; max=$5",
            "j=\"$d/journal-$n.jsonl\"; l=\"$d/logs/attempt-$n.log\"; o=\"$d/agent-$n.out\"",
            "alive=0; launched=0",
            "if [ -r \"$d/agent-$n.pid\" ]; then launched=1; fi",
            // life first, sizes after: the agent writes its end before it exits, so an agent found dead here left
            // a complete journal to read. (The other way round, an agent that ended between the two would look
            // dead with no end, and be salvaged: a second end, 'interrupted', after its own.)
            "if agent_alive \"$d\" \"$n\"; then alive=1; fi",
            "js=$(stat -c %s \"$j\" 2>/dev/null || echo -1)",
            "ls=$(stat -c %s \"$l\" 2>/dev/null || echo -1)",
            "jl=0; if [ \"$js\" -gt \"$jo\" ]; then jl=$((js - jo)); fi; if [ \"$jl\" -gt \"$max\" ]; then jl=$max; fi",
            "ll=0; if [ \"$ls\" -gt \"$lo\" ]; then ll=$((ls - lo)); fi; if [ \"$ll\" -gt \"$max\" ]; then ll=$max; fi",
            "ol=0; if [ \"$alive\" = 0 ] && [ -s \"$o\" ]; then ol=$(stat -c %s \"$o\"); if [ \"$ol\" -gt 4000 ]; then ol=4000; fi; fi",
            "printf '%s %s %s %s %s %s %s\\n' \"$alive\" \"$js\" \"$ls\" \"$jl\" \"$ll\" \"$ol\" \"$launched\"",
            "if [ \"$jl\" -gt 0 ]; then tail -c +$((jo + 1)) \"$j\" | head -c \"$jl\"; fi",
            "if [ \"$ll\" -gt 0 ]; then tail -c +$((lo + 1)) \"$l\" | head -c \"$ll\"; fi",
            "if [ \"$ol\" -gt 0 ]; then tail -c \"$ol\" \"$o\"; fi",
            "exit 0");

    /**
     * What one look found.
     *
     * @param launched    whether an agent was ever started for the attempt (its pid file exists)
     * @param journalSize the journal's size on the host, -1 when there is none (the agent has not started, or never will)
     * @param journal     journal bytes from the offset asked for
     * @param log         log bytes from the offset asked for
     * @param agentOutput the end of what the agent itself printed, when it is not alive (why it died)
     */
    public record Look(boolean launched, boolean agentAlive, long journalSize, long logSize, byte[] journal, byte[] log, String agentOutput) {
        public boolean more() {
            return journal.length == MAX_CHUNK || log.length == MAX_CHUNK;
        }
    }

    private RunPoll() {
    }

    /** One look, through the host's shell when it answers (see {@link HostCalls#call}). */
    public static Look look(HostCalls host, HostChannel c, String runDir, int attempt, long journalOffset, long logOffset) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostChannel.Result r = host.call(c, "sortie_look", List.of(runDir, Integer.toString(attempt),
                Long.toString(journalOffset), Long.toString(logOffset), Integer.toString(MAX_CHUNK)), "", out, TIMEOUT, true);
        if (!r.ok()) {
            throw new IOException("looking at the run on " + c.where() + " failed (exit " + r.exitCode() + "): "
                    + r.stderr().strip());
        }
        return parse(out.toByteArray(), c.where());
    }

    public static Look parse(byte[] bytes, String where) throws IOException {
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
