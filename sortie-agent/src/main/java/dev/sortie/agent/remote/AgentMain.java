package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.agent.ProcessGroups;
import dev.sortie.agent.RunSpec;
import dev.sortie.agent.RunSupervisor;
import dev.sortie.agent.Salvage;
import dev.sortie.agent.WorkFolders;
import dev.sortie.agent.WorkSetup;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.Units;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.log.LogFile;
import dev.sortie.core.log.Logging;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.params.Params;
import dev.sortie.core.util.FileTrees;
import dev.sortie.core.util.Hosts;
import dev.sortie.core.util.Trace;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The agent on a host: {@code java -cp AGENT dev.sortie.agent.remote.AgentMain run RUN_DIR ATTEMPT} runs the
 * attempt described by {@code RUN_DIR/run-ATTEMPT.json} with the same {@link RunSupervisor} as a local run and
 * writes what it reports into {@code RUN_DIR/journal-ATTEMPT.jsonl}; it is started detached from the SSH session
 * (setsid), so the run outlives the connection and the laptop. {@code salvage RUN_DIR ATTEMPT PGID} collects what
 * a run whose agent died left behind. A stop is asked for by creating {@code RUN_DIR/stop-ATTEMPT} (holding the
 * grace period in seconds): the agent stops its command as a local run is stopped (SIGTERM, grace, SIGKILL).
 */
public final class AgentMain {
    static final Duration STOP_POLL = Duration.ofMillis(200);
    static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);
    /** How long the agent waits after the end for a server that is down (restarting) to take the rest of its reports. */
    static final Duration HOME_LINGER = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private AgentMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2) {
            // Why the agent skipped or gave up on something, beside the run's journal, for a user or a salvage to read
            Logging.skipConfigFile();
            Logging.install(LogFile.at(agentLogFile(Path.of(args[1]))));
        }
        try {
            if (args.length >= 2 && args[0].equals("run")) {
                System.exit(run(Path.of(args[1]), Integer.parseInt(args[2])));
            } else if (args.length >= 4 && args[0].equals("salvage")) {
                System.exit(salvage(Path.of(args[1]), Integer.parseInt(args[2]), Long.parseLong(args[3])));
            }
        } catch (Throwable t) {
            // Exit whatever threads are left: an agent that lives on after failing (its journal could not be written on
            // a full disk) would be taken for a run still going, and followed for ever.
            System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.ERROR, "the agent failed", t);
            t.printStackTrace();
            System.exit(1);
        }
        System.err.println("usage: AgentMain run RUN_DIR ATTEMPT | salvage RUN_DIR ATTEMPT PGID (started by sortie, not by hand)");
        System.exit(2);
    }

    public static Path runFile(Path runDir, int attempt) {
        return runDir.resolve("run-" + attempt + ".json");
    }

    public static Path journalFile(Path runDir, int attempt) {
        return runDir.resolve("journal-" + attempt + ".jsonl");
    }

    public static Path logFile(Path runDir, int attempt) {
        return runDir.resolve("logs").resolve("attempt-" + attempt + ".log");
    }

    /** The agent's own log (all attempts of the run append to it; created only when something is logged). */
    public static Path agentLogFile(Path runDir) {
        return runDir.resolve("agent.log");
    }

    public static Path stopFile(Path runDir, int attempt) {
        return runDir.resolve("stop-" + attempt);
    }

    static int run(Path runDir, int attempt) throws IOException, InterruptedException {
        Trace.mark("agent main");
        AgentRun run = AgentRun.fromJson(Files.readAllBytes(runFile(runDir, attempt)));
        Trace.mark("run file read");
        Path log = logFile(runDir, attempt);
        Files.createDirectories(log.getParent());
        try (JournalWriter journal = new JournalWriter(journalFile(runDir, attempt))) {
            journal.reserve(END_RESERVE);
            ProcessHandle me = ProcessHandle.current();
            journal.write(new JournalRecord.Agent(me.pid(), me.info().startInstant().orElse(null)));
            Path root = Path.of(run.root());
            WorkFolderReuse spares = new WorkFolderReuse(root.resolve("spare"));
            RunSupervisor supervisor;
            try {
                // the project's bucket when the run names it (opened here: a store that does not answer fails the run
                // with its reason, like any other preparation)
                dev.sortie.core.store.BlobStore store = NodeStore.open(root, run.store());
                Trace.mark("store opened");
                String encoding = HostEncoding.problem(run);
                if (encoding != null) {
                    throw new IOException(encoding);
                }
                TaskConfig task = TaskSource.fromJson(run.task()).resolveRecorded(WorkSetup.workRoot(runDir))
                        .withParams(Params.of(JSON.convertValue(run.params(), Map.class)));
                Map<String, String> env = new LinkedHashMap<>(run.environment());
                env.put("SORTIE_PROJECT_DIR", WorkSetup.workRoot(runDir).toString());
                RunSpec spec = WorkSetup.prepare(run.experimentId(), attempt, task, work -> {
                            spares.claim(work);
                            CodeCache cache = new CodeCache(root.resolve("cache").resolve("code"));
                            cache.fillFrom(run.files(), NodeStore.code(run.store()), store);
                            cache.materialize(run.files(), work);
                            if (run.gitCommit() != null) {
                                Map<String, String> code = NodeStore.code(run.store());
                                new GitCheckout(root.resolve("cache").resolve("code"), root.resolve("cache").resolve("git").resolve("objects"),
                                        (id, type) -> cache.fillObject(id, type, code, store)).write(run.gitCommit(), work);
                                Trace.mark("work folder made a git checkout");
                            }
                        },
                        run.extraFiles(), run.command(), env, runDir, log, run.restore(), store, journal);
                Trace.mark("work folder laid out");
                supervisor = RunSupervisor.start(spec);
            } catch (IOException | RuntimeException e) {
                System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.WARNING, "could not prepare the run in " + runDir, e);
                String full = DiskRoom.of(root, journal).fullHint(root);
                // The work folder did not fit (ENOSPC): the host's failure, not the experiment's, said with what to do.
                boolean infrastructure = full != null && dev.sortie.core.util.LocalDisk.isFull(e);
                String why = "could not prepare the run on " + Hosts.name() + ": " + e.getMessage() + (infrastructure ? "; " + full : "");
                note(log, why);
                journal.commandExited();
                journal.endOnce(() -> new JournalRecord.End(new RunOutcome(ExperimentStatus.FAILED, null, why), Files.size(log), infrastructure));
                return 1;
            }
            // a run the server dispatched posts what it reports to the server as it happens, besides the journal
            HomeReporter home = HomeReporter.forRun(run.environment(), run.experimentId(), attempt, runDir).map(HomeReporter::start).orElse(null);
            CountDownLatch ended = new CountDownLatch(1);
            boolean[] terminated = {false};
            Thread hook = new Thread(() -> {
                // SIGTERM to the agent itself (the host shuts down): stop the command as a stop would, record it as
                // interrupted (so the retry policy resumes it elsewhere), and exit only once that is written.
                terminated[0] = true;
                supervisor.stop(DEFAULT_GRACE);
                try {
                    ended.await(DEFAULT_GRACE.toMillis() + 5000, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "sortie-agent-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Thread stopWatch = watchStopFile(stopFile(runDir, attempt), supervisor);
            SpotWatch.Notice[] preempted = {null};
            SpotWatch spot = SpotWatch.startIfOnInstance(System.getenv(), notice -> {
                // "checkpoint now": the run's SIGTERM, then its last checkpoint saved and its log read to the last line
                // by the supervisor before the end is written, all before the time AWS gave
                preempted[0] = notice;
                Duration grace = SpotWatch.grace(notice, java.time.Instant.now(), Duration.ofSeconds(2), Duration.ofSeconds(100));
                note(log, "spot interruption notice: AWS will " + notice.action() + " this instance (" + notice.instance() + ") at "
                        + notice.time() + "; stopping the run (SIGTERM, SIGKILL after " + grace.toSeconds() + "s) to save its last checkpoint");
                supervisor.stop(grace);
            }, rebalance -> note(log, "rebalance recommendation for this instance (" + rebalance + "): noted, not acted on"
                    + " (the run goes on; a spot interruption notice would stop it)"));
            RunOutcome outcome = supervisor.await();
            stopWatch.interrupt();
            if (spot != null) {
                spot.close();
            }
            if (preempted[0] != null) {
                outcome = new RunOutcome(ExperimentStatus.INTERRUPTED, outcome.exitCode(), dev.sortie.core.executor.Interruptions.PREEMPTED
                        + "spot interruption notice on " + preempted[0].instance() + " (AWS " + preempted[0].action() + "s it at " + preempted[0].time()
                        + "); the run was stopped and its last checkpoint saved");
            } else if (terminated[0]) {
                outcome = new RunOutcome(ExperimentStatus.INTERRUPTED, outcome.exitCode(),
                        "the agent on " + Hosts.name() + " was terminated (host shutting down?)");
            }
            // A disk that filled during the run is said with the run's end, whatever the run made of it: the run's own
            // result stays (its writes failing is its failure, exit 1), unless the agent could not record what it
            // reported (then the attempt is the infrastructure's failure, exit 3).
            String full = DiskRoom.of(root, journal).fullHint(root);
            boolean infrastructure = supervisor.infrastructureFailure().isPresent();
            if (full != null) {
                note(log, full + (outcome.status() == ExperimentStatus.SUCCEEDED
                        ? "; what the run printed (its log) or wrote may be cut short" : ""));
                if (outcome.status() != ExperimentStatus.SUCCEEDED) {
                    outcome = new RunOutcome(outcome.status(), outcome.exitCode(), (outcome.error() == null ? "" : outcome.error() + "; ") + full);
                }
            }
            RunOutcome last = outcome;
            try {
                // not written if a salvage ended the journal already (it took this agent for dead): one end per attempt
                journal.endOnce(() -> new JournalRecord.End(last, Files.exists(log) ? Files.size(log) : 0, infrastructure));
            } finally {
                ended.countDown();
            }
            Trace.mark("end written");
            try {
                spares.retire(WorkSetup.workRoot(runDir)); // the next run on this host starts from it
            } catch (IOException e) {
                System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.DEBUG, "the work folder of {0} was not set aside for reuse: {1}", runDir, e);
                // A leftover work copy costs disk, not data: everything declared is in the host's store.
            }
            Trace.mark("work folder set aside");
            // after the work folder is set aside: a server that is down delays nothing the next run on this host needs
            if (home != null && !home.finish(HOME_LINGER)) {
                // the journal keeps it all: the server's own follower of this host reads it from there
                System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.WARNING,
                        "the end of the run was not reported home within {0}s ({1}); it is in the journal", HOME_LINGER.toSeconds(),
                        home.gaveUp() == null ? "the server did not answer" : home.gaveUp());
                home.close();
            }
            return 0;
        }
    }

    /** Room set aside on the run's disk for its end (see {@link JournalWriter#reserve}): its last records and a note. */
    static final int END_RESERVE = 128 << 10;
    /** Less free than this on the run's disk when the run ends: the disk is full (a write of the run's likely failed). */
    static final long NEARLY_FULL = 1 << 20;

    /** The room on the run's disk when it ended, measured before the reserved room is given back for the end. */
    record DiskRoom(long free, long total) {
        static DiskRoom of(Path root, JournalWriter journal) {
            DiskRoom room;
            try {
                java.nio.file.FileStore disk = Files.getFileStore(root);
                room = new DiskRoom(disk.getUsableSpace(), disk.getTotalSpace());
            } catch (IOException | RuntimeException e) {
                System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.DEBUG, "the free space of {0} is not known: {1}", root, e);
                room = new DiskRoom(-1, -1);
            }
            journal.releaseReserve();
            return room;
        }

        /** What to say when the disk is full: remote_dir, its room, what to do; null when it is not full. */
        String fullHint(Path root) {
            if (free < 0 || free >= NEARLY_FULL) {
                return null;
            }
            return "the disk of remote_dir " + root + " on " + Hosts.name() + " was full (" + Units.human(free) + " free of "
                    + Units.human(total) + "); free some space on that disk, or set the executor's 'remote_dir:' to a folder on a larger one";
        }
    }

    /** A note of sortie's at the end of the run's log, on a line of its own. */
    private static void note(Path log, String text) {
        try {
            boolean midLine = false;
            if (Files.exists(log) && Files.size(log) > 0) {
                try (java.nio.channels.SeekableByteChannel c = Files.newByteChannel(log)) {
                    java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
                    c.position(c.size() - 1).read(last);
                    midLine = last.get(0) != '\n';
                }
            }
            Files.writeString(log, (midLine ? "\n" : "") + "[sortie] " + text + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.WARNING, "could not add a note to the log " + log + ": " + text, e);
        }
    }

    private static Thread watchStopFile(Path stopFile, RunSupervisor supervisor) {
        Thread t = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    if (Files.exists(stopFile)) {
                        supervisor.stop(grace(stopFile));
                        return;
                    }
                    Thread.sleep(STOP_POLL.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sortie-agent-stop");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static Duration grace(Path stopFile) {
        try {
            return Duration.ofSeconds(Long.parseLong(Files.readString(stopFile).strip()));
        } catch (IOException | RuntimeException e) {
            System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.DEBUG, "the stop request {0} gives no grace period ({1}); the default applies", stopFile, e);
            return DEFAULT_GRACE;
        }
    }

    /**
     * Collects what an attempt whose agent died left (log metrics, SDK events, checkpoints, artifacts) and ends its
     * journal, unless the journal has an end already: an agent that wrote its end and exited just before it was
     * found dead finished its run, and nothing is touched then.
     */
    static int salvage(Path runDir, int attempt, long processGroup) throws IOException {
        Trace.mark("agent main");
        AgentRun run = AgentRun.fromJson(Files.readAllBytes(runFile(runDir, attempt)));
        Trace.mark("run file read");
        Path log = logFile(runDir, attempt);
        try (JournalWriter journal = new JournalWriter(journalFile(runDir, attempt))) {
            Path root = WorkSetup.workRoot(runDir);
            boolean salvaged = journal.endOnce(() -> {
                if (processGroup > 0 && ProcessGroups.groupAlive(processGroup)) {
                    ProcessGroups.terminate(processGroup, DEFAULT_GRACE);
                }
                TaskConfig task = TaskSource.fromJson(run.task()).resolveRecorded(root)
                        .withParams(Params.of(JSON.convertValue(run.params(), Map.class)));
                Salvage.collect(new WorkFolders(task, root, root.resolve(task.workdir()).normalize()), log,
                        WorkSetup.eventsFile(runDir, attempt), NodeStore.open(Path.of(run.root()), run.store()), journal);
                return new JournalRecord.End(new RunOutcome(ExperimentStatus.INTERRUPTED, null,
                        "the agent watching it on " + Hosts.name() + " died"), Files.exists(log) ? Files.size(log) : 0);
            });
            if (salvaged) {
                FileTrees.delete(root);
            }
        }
        return 0;
    }
}
