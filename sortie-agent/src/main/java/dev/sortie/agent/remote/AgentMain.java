package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.agent.ProcessGroups;
import dev.sortie.agent.RunSpec;
import dev.sortie.agent.RunSupervisor;
import dev.sortie.agent.Salvage;
import dev.sortie.agent.WorkFolders;
import dev.sortie.agent.WorkSetup;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.engine.TaskSource;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.log.LogFile;
import dev.sortie.core.log.Logging;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.params.Params;
import dev.sortie.core.util.FileTrees;
import dev.sortie.core.util.Hosts;
import dev.sortie.core.util.Trace;
import dev.sortie.store.LocalBlobStore;
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
    private static final ObjectMapper JSON = new ObjectMapper();

    private AgentMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2) {
            // Why the agent skipped or gave up on something, beside the run's journal, for a user or a salvage to read
            Logging.skipConfigFile();
            Logging.install(LogFile.at(agentLogFile(Path.of(args[1]))));
        }
        if (args.length >= 2 && args[0].equals("run")) {
            System.exit(run(Path.of(args[1]), Integer.parseInt(args[2])));
        } else if (args.length >= 4 && args[0].equals("salvage")) {
            System.exit(salvage(Path.of(args[1]), Integer.parseInt(args[2]), Long.parseLong(args[3])));
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
            ProcessHandle me = ProcessHandle.current();
            journal.write(new JournalRecord.Agent(me.pid(), me.info().startInstant().orElse(null)));
            Path root = Path.of(run.root());
            LocalBlobStore store = new LocalBlobStore(root.resolve("store"));
            WorkFolderReuse spares = new WorkFolderReuse(root.resolve("spare"));
            RunSupervisor supervisor;
            try {
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
                            new CodeCache(root.resolve("cache").resolve("code")).materialize(run.files(), work);
                        },
                        run.extraFiles(), run.command(), env, runDir, log, run.restore(), store, journal);
                Trace.mark("work folder laid out");
                supervisor = RunSupervisor.start(spec);
            } catch (IOException | RuntimeException e) {
                System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.WARNING, "could not prepare the run in " + runDir, e);
                String why = "could not prepare the run on " + Hosts.name() + ": " + e.getMessage();
                Files.writeString(log, "[sortie] " + why + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                journal.commandExited();
                journal.endOnce(() -> new JournalRecord.End(new RunOutcome(ExperimentStatus.FAILED, null, why), Files.size(log)));
                return 1;
            }
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
            RunOutcome outcome = supervisor.await();
            stopWatch.interrupt();
            if (terminated[0]) {
                outcome = new RunOutcome(ExperimentStatus.INTERRUPTED, outcome.exitCode(),
                        "the agent on " + Hosts.name() + " was terminated (host shutting down?)");
            }
            RunOutcome last = outcome;
            // not written if a salvage ended the journal already (it took this agent for dead): one end per attempt
            journal.endOnce(() -> new JournalRecord.End(last, Files.exists(log) ? Files.size(log) : 0));
            Trace.mark("end written");
            ended.countDown();
            try {
                spares.retire(WorkSetup.workRoot(runDir)); // the next run on this host starts from it
            } catch (IOException e) {
                System.getLogger(AgentMain.class.getName()).log(System.Logger.Level.DEBUG, "the work folder of {0} was not set aside for reuse: {1}", runDir, e);
                // A leftover work copy costs disk, not data: everything declared is in the host's store.
            }
            Trace.mark("work folder set aside");
            return 0;
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
                        WorkSetup.eventsFile(runDir, attempt), new LocalBlobStore(Path.of(run.root()).resolve("store")), journal);
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
