package dev.sortie.executor.remote.run;

import dev.sortie.agent.remote.JournalRecord;
import dev.sortie.core.executor.DetachableExecutor.Collection;
import dev.sortie.core.executor.RunListener;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.util.Trace;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RunPoll;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One attempt running on a host, as this machine collects it: looks at it ({@link RunPoll}), mirrors its log
 * into the local log file byte for byte (streaming complete lines to the listener), applies its journal to the
 * listener (metrics, checkpoints and artifacts, fetched into the local store first), and knows when it is over:
 * the journal's end record, an agent that died (then what it left is salvaged on the host), or a host that has
 * not answered for {@code lostAfter}.
 *
 * <p>Everything applied is idempotent and the offsets are kept in {@link FollowState}, so collecting can stop at
 * any moment (detach, a killed sortie) and go on later from another process.
 */
public final class RemoteAttempt {
    private static final System.Logger LOG = System.getLogger(RemoteAttempt.class.getName());
    static final Duration IDLE_POLL = Duration.ofMillis(500);
    static final Duration BUSY_POLL = Duration.ofMillis(50);
    /** Quiet looks at BUSY_POLL before the pauses grow. */
    static final int QUICK_LOOKS = 4;
    static final Duration RETRY_POLL = Duration.ofSeconds(2);

    private final RemoteHost host;
    private final String locatorType;
    private final String experimentId;
    private final int attempt;
    private final Path localLog;
    /** The project's .sortie folder: made by whoever set the project up, never again from here (see {@link #appendLog}). */
    private final Path stateDir;
    /**
     * How much of the host's log this process has read. Kept here, not taken from the local copy's size on each
     * look: a copy removed with .sortie during the run would have the log read from its start again (printed twice).
     */
    private long logOffset;
    private boolean mirrorGone;
    private final RunListener listener;
    private final FollowState state;
    /** The run's folder on the host, known once the host answered (a collector may start while it is down). */
    private String remoteRunDir;
    private long processGroup;
    private JournalRecord.End end;
    /** Set when the agent died because the host's disk was full: the attempt is the host's failure (exit code 3). */
    private volatile IOException hostFailure;
    /** Less free than this on the host's disk: it is full. */
    static final long NEARLY_FULL = 1 << 20;
    private boolean exited;
    private boolean salvaged;
    private volatile boolean detached;
    private final Object wake = new Object();

    /**
     * @param locatorType       the type of the locators the run is reported with (its executor's type)
     * @param knownProcessGroup the command's process group as recorded, 0 if unknown (for salvage)
     */
    RemoteAttempt(RemoteHost host, String locatorType, String experimentId, int attempt, Path localRunDir, Path localLog,
                  long knownProcessGroup, RunListener listener) throws IOException {
        this.host = host;
        this.locatorType = locatorType;
        this.experimentId = experimentId;
        this.attempt = attempt;
        this.localLog = localLog;
        this.listener = listener;
        this.processGroup = knownProcessGroup;
        this.state = FollowState.load(localRunDir, attempt);
        this.stateDir = localRunDir.toAbsolutePath().getParent().getParent();
        this.logOffset = Files.exists(localLog) ? Files.size(localLog) : 0; // the log is mirrored byte for byte
    }

    /** Follows until the attempt is over (its outcome), or until {@link #detach()} (an outcome whose status is RUNNING). */
    RunOutcome follow() throws InterruptedException {
        int quiet = 0;
        while (true) {
            if (detached) {
                return detachedOutcome();
            }
            Duration pause;
            try {
                Step s = step();
                if (s.outcome() != null) {
                    return s.outcome();
                }
                // Looks come quickly while the run talks and for a few looks after it went quiet, then slow down
                // (to IDLE_POLL), so a short run's end is seen within tens of milliseconds (a run that is over in
                // a quarter second, not when the next of 100, 200, 400 ms comes) and a long quiet one costs two
                // looks a second.
                quiet = s.progressed() ? 0 : Math.min(quiet + 1, QUICK_LOOKS + 8);
                pause = Duration.ofMillis(Math.min(IDLE_POLL.toMillis(), BUSY_POLL.toMillis() << Math.max(0, quiet - QUICK_LOOKS)));
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "the host of {0} did not answer a look: {1}", experimentId, e);
                RunOutcome lost = unreachable(e);
                if (lost != null) {
                    return lost;
                }
                pause = RETRY_POLL;
            }
            synchronized (wake) {
                if (!detached) {
                    wake.wait(pause.toMillis());
                }
            }
        }
    }

    /** Collects what there is now, without waiting for more. */
    Collection catchUp() {
        try {
            while (true) {
                Step s = step();
                if (s.outcome() != null) {
                    return Collection.ended(s.outcome());
                }
                if (!s.more()) {
                    return Collection.RUNNING;
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the host of {0} did not answer a catch-up: {1}", experimentId, e);
            RunOutcome lost = unreachable(e);
            return lost != null ? Collection.ended(lost) : Collection.unreachable(new dev.sortie.core.executor.DetachableExecutor.HostSilence(
                    host.key(), host.display(), state.unreachableSince, e.getMessage(), host.lostAfter()));
        }
    }

    /**
     * Why the attempt's outcome is the host's failure rather than the experiment's: its agent could not record what
     * the run reported (a full disk under the journal). Known once the end has been collected.
     */
    java.util.Optional<IOException> infrastructureFailure() {
        if (hostFailure != null) {
            return java.util.Optional.of(hostFailure);
        }
        JournalRecord.End e = end;
        return e != null && e.infrastructure() ? java.util.Optional.of(new IOException(e.outcome().error())) : java.util.Optional.empty();
    }

    void detach() {
        detached = true;
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /** The start of the error of an attempt whose launcher died before its agent was started on the host. */
    static final String NEVER_HANDED = "sortie stopped before the run was handed to ";

    /** Whether an outcome says the attempt never reached the host (it did not start anywhere). */
    public static boolean neverHanded(RunOutcome outcome) {
        return outcome != null && outcome.error() != null && outcome.error().startsWith(NEVER_HANDED);
    }

    static RunOutcome detachedOutcome() {
        return new RunOutcome(ExperimentStatus.RUNNING, null, null);
    }

    private record Step(RunOutcome outcome, boolean progressed, boolean more) {
    }

    private Step step() throws IOException {
        HostChannel c = host.connection();
        if (remoteRunDir == null) {
            remoteRunDir = host.layout().runDir(experimentId);
        }
        RunPoll.Look look = RunPoll.look(host, c, remoteRunDir, attempt, state.journalOffset, logOffset);
        if (state.unreachableSince != null) {
            state.unreachableSince = null;
            listener.output("[sortie] " + host.display() + " answers again");
            state.save();
        }
        appendLog(look.log());
        logOffset += look.log().length;
        int consumed = applyJournal(c, look.journal());
        if (consumed > 0) {
            state.journalOffset += consumed;
            state.save();
        }
        long localLogSize = logOffset;
        // The end record is written after the log is complete; a log found shorter than it says was cut on the host.
        if (end != null && (localLogSize >= end.logSize() || (look.log().length == 0 && !look.more()))) {
            if (!exited) {
                exited = true;
                listener.commandExited();
            }
            bringBackDvcCache(c);
            return new Step(end.outcome(), true, false);
        }
        boolean progressed = consumed > 0 || look.log().length > 0;
        // A dead agent's journal may end in part of a line (its disk filled mid-write): it will never be completed.
        if (end == null && !look.agentAlive() && !look.more()) {
            // The agent is gone and its journal has no end: nothing more will come unless we salvage.
            if (!look.launched()) {
                return new Step(new RunOutcome(ExperimentStatus.INTERRUPTED, null, NEVER_HANDED + host.display()), false, false);
            }
            if (look.journalSize() < 0) {
                String why = look.agentOutput().isBlank() ? "it printed nothing" : lastLines(look.agentOutput());
                return new Step(new RunOutcome(ExperimentStatus.FAILED, null, "the agent did not start on " + host.display()
                        + ": " + why), false, false);
            }
            if (!salvaged) {
                salvaged = true;
                listener.output("[sortie] the agent on " + host.display() + " died; collecting what the run left there");
                host.salvage(c, experimentId, attempt, processGroup);
                return new Step(null, true, true);
            }
            String full = fullDisk(c);
            if (full != null) {
                // It could not write its journal (nor could the salvage): the host's failure, said with what to do.
                if (!exited) {
                    exited = true;
                    listener.commandExited();
                }
                hostFailure = new IOException("the agent on " + host.display() + " could not record the run: " + full);
                return new Step(new RunOutcome(ExperimentStatus.FAILED, null, hostFailure.getMessage()), false, false);
            }
            return new Step(new RunOutcome(ExperimentStatus.INTERRUPTED, null, "the agent on " + host.display()
                    + " died and what it left could not be collected: " + lastLines(look.agentOutput())), false, false);
        }
        return new Step(null, progressed, look.more() || (end != null));
    }

    /**
     * What the run's DVC added to the project's DVC cache on the host (outs, run-cache entries) goes into the user's
     * DVC cache, so a later run here or anywhere skips those stages. A failure is said and the outcome stands: the
     * run's results are recorded either way, and the next run's end brings back what this one could not.
     */
    private void bringBackDvcCache(HostChannel c) {
        if (stateDir == null || !Files.isDirectory(stateDir)) {
            return;
        }
        try {
            java.util.Optional<dev.sortie.executor.remote.sync.DvcHostCache> dvc =
                    dev.sortie.executor.remote.sync.DvcHostCache.of(stateDir.getParent(), host.layout());
            if (dvc.isPresent()) {
                int n = dvc.get().bringBack(c);
                Trace.mark("DVC cache: " + n + " files brought back from " + host.key());
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not bring back the DVC cache of " + experimentId + " from " + host.display(), e);
            listener.output("[sortie] the outs DVC cached on " + host.display() + " could not be brought into this project's DVC cache ("
                    + e.getMessage() + "); the next run's end tries again");
        }
    }

    /** "the disk of remote_dir ... is full (...)" when the host's disk under the run is (nearly) full; null otherwise. */
    private String fullDisk(HostChannel c) throws IOException {
        long free = dev.sortie.executor.remote.host.HostDiskFull.freeBytes(c, remoteRunDir);
        if (free < 0 || free >= NEARLY_FULL) {
            return null;
        }
        return "the disk of remote_dir " + host.layout().root() + " is full (" + dev.sortie.core.config.Units.human(free)
                + " free); free some space on that disk, or set the executor's 'remote_dir:' to a folder on a larger one";
    }

    /** Applies the complete lines of a journal chunk; returns how many bytes they took. */
    private int applyJournal(HostChannel c, byte[] chunk) throws IOException {
        int lineStart = 0;
        for (int i = 0; i < chunk.length; i++) {
            if (chunk[i] != '\n') {
                continue;
            }
            JournalRecord r = JournalRecord.parse(new String(chunk, lineStart, i - lineStart, StandardCharsets.UTF_8));
            lineStart = i + 1;
            if (r != null) {
                apply(c, r);
            }
        }
        return lineStart;
    }

    private void apply(HostChannel c, JournalRecord r) throws IOException {
        if (r instanceof JournalRecord.Started s) {
            processGroup = s.pid();
            listener.started(RemoteLocators.of(locatorType, host.key(), new ProcessLocation(s.agentPid(), s.agentStart(), s.pid(), s.processStart())));
        } else if (r instanceof JournalRecord.Exited) {
            if (!exited) {
                exited = true;
                listener.commandExited();
            }
        } else if (r instanceof JournalRecord.Metrics m) {
            listener.metrics(m.points());
        } else if (r instanceof JournalRecord.Saved s) {
            // What a host reports is checked like any input: a record naming a path outside the run's folder or a
            // malformed hash never reaches the ledger (where 'sortie pull' would write that path).
            List<ArtifactRecord> files = s.files().stream().filter(RemoteAttempt::wellFormed).toList();
            if (files.size() < s.files().size()) {
                listener.output("[sortie] ignored " + (s.files().size() - files.size()) + " malformed output record(s) from "
                        + host.display());
            }
            if (stateDir != null && !Files.isDirectory(stateDir)) {
                return; // .sortie was removed during the run: nothing can be recorded, and its store is not made again
            }
            List<String> hashes = files.stream().map(ArtifactRecord::hash).distinct().toList();
            host.fetch(c, hashes);
            Trace.mark("fetched " + hashes.size() + " blobs");
            if (!files.isEmpty()) {
                listener.saved(files);
            }
        } else if (r instanceof JournalRecord.End e && end == null) {
            end = e; // the first end is the attempt's (a journal of an older agent may hold a salvage's second one)
        }
    }

    /** A relative path that stays inside the run's folder, and a SHA-256 hash. */
    static boolean wellFormed(ArtifactRecord r) {
        String p = r.path();
        if (p == null || p.isEmpty() || p.startsWith("/") || p.contains("\\") || p.indexOf('\0') >= 0
                || r.hash() == null || !r.hash().matches("[0-9a-f]{64}")) {
            return false;
        }
        for (String part : p.split("/")) {
            if (part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private void appendLog(byte[] bytes) throws IOException {
        if (bytes.length == 0) {
            return;
        }
        if (mirrorGone || stateDir != null && !Files.isDirectory(stateDir)) {
            // The project's .sortie folder was removed during the run: nothing of it is made again here (not the log,
            // not the follow state). The output is still shown; the run goes on on the host, its log stays there.
            if (!mirrorGone) {
                mirrorGone = true;
                listener.output("[sortie] " + stateDir + " was removed: the output of " + experimentId + " is no longer kept on"
                        + " this machine (its log stays on " + host.display() + "); the run goes on there");
            }
            listener.outputBytes(bytes, 0, bytes.length);
            return;
        }
        Files.createDirectories(localLog.toAbsolutePath().getParent());
        // Written at the bytes' offset, not appended: a server's reports route mirrors the same log from the same
        // agent (POST /reports), each at the offset the bytes have on the host, so two writers make one copy.
        try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(localLog, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
            long at = logOffset;
            while (buf.hasRemaining()) {
                at += out.write(buf, at);
            }
        }
        // Passed on as bytes: a line need not end for people to see it, and bytes that are not UTF-8 stay as written.
        listener.outputBytes(bytes, 0, bytes.length);
    }

    /** Notes that the host did not answer; returns the lost outcome once it has not answered for long enough. */
    private RunOutcome unreachable(IOException e) {
        host.drop();
        Instant now = Instant.now();
        if (state.unreachableSince == null) {
            state.unreachableSince = now;
            listener.output("[sortie] cannot reach " + host.display() + " (" + e.getMessage() + "); the run goes on there, retrying"
                    + " (it is declared lost after " + human(host.lostAfter()) + ")");
            saveQuietly();
        }
        if (Duration.between(state.unreachableSince, now).compareTo(host.lostAfter()) >= 0) {
            if (!exited) {
                exited = true;
                listener.commandExited();
            }
            host.rememberLost(experimentId, attempt);
            return new RunOutcome(ExperimentStatus.INTERRUPTED, null, "host " + host.display() + " lost: it did not answer for "
                    + human(Duration.between(state.unreachableSince, now)) + " (" + e.getMessage() + ")");
        }
        return null;
    }

    private void saveQuietly() {
        try {
            state.save();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the follow state of {0} was not saved ({1}); the next collector reads the journal from its start", experimentId, e);
            // the state is an optimisation; without it the next collector starts from the beginning
        }
    }

    private static String lastLines(String text) {
        String t = text.strip();
        String[] lines = t.split("\n");
        int from = Math.max(0, lines.length - 3);
        return String.join(" | ", java.util.Arrays.copyOfRange(lines, from, lines.length));
    }

    private static String human(Duration d) {
        return dev.sortie.core.config.Units.human(d);
    }
}
