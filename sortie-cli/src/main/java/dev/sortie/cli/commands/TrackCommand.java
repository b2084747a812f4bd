package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.agent.LogTailer;
import dev.sortie.agent.MetricCollector;
import dev.sortie.agent.OutputCollector;
import dev.sortie.agent.ProcessGroups;
import dev.sortie.agent.RunEventDispatch;
import dev.sortie.agent.RunEvents;
import dev.sortie.cli.Main;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.ProjectPaths;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.params.Params;
import dev.sortie.core.util.Hosts;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Plumbing for the SDKs (sdk/PROTOCOL.md): a run started by hand, a script or a notebook, becomes an experiment in
 * the same table. {@code open} records it and starts a detached watcher; {@code watch} tails its events file into
 * the ledger until the run ends or its process goes away.
 */
@Command(name = "track", mixinStandardHelpOptions = true,
        description = {"Track a run started by hand (used by the Python and Java SDKs; see sdk/PROTOCOL.md)."},
        subcommands = {TrackCommand.Open.class, TrackCommand.Watch.class})
public final class TrackCommand {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration POLL = Duration.ofMillis(50);
    static final Duration FLUSH = Duration.ofMillis(250);

    @ParentCommand
    Main main;

    @Command(name = "open", mixinStandardHelpOptions = true,
            description = "Record a running experiment for process PID and start its watcher; prints {id, name, events_file, artifact_dir} as JSON.")
    static final class Open implements Callable<Integer> {
        @ParentCommand
        TrackCommand parent;

        @Option(names = {"-n", "--name"}, paramLabel = "NAME", description = "The experiment's name (default: <project>-<n>).")
        String name;

        @Option(names = "--params", paramLabel = "JSON", description = "Params as a JSON object.")
        String params;

        @Option(names = "--pid", paramLabel = "PID", description = "The tracked process (default: the caller).")
        Long pid;

        @Override
        public Integer call() throws Exception {
            var context = parent.main.context();
            ProjectPaths paths = context.paths();
            ExperimentService service = context.service();
            Params p = Params.empty();
            if (params != null && !params.isBlank()) {
                JsonNode n;
                try {
                    n = JSON.readTree(params);
                } catch (Exception e) {
                    throw new IllegalArgumentException("--params: not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
                }
                if (!n.isObject()) {
                    throw new IllegalArgumentException("--params: expected a JSON object like {\"lr\": 0.1}");
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> m = JSON.convertValue(n, LinkedHashMap.class);
                p = Params.of(m);
            }
            long tracked = pid != null ? pid : ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(0L);
            if (!ProcessGroups.isAlive(tracked, null)) {
                throw new IllegalArgumentException("--pid " + tracked + ": no such process");
            }
            String id = ExperimentService.newExperimentId();
            Files.createDirectories(paths.runDir(id).resolve("logs"));
            Process watcher = startWatcher(paths, id, tracked);
            Experiment exp;
            try {
                // a local run's locator: the watcher watches, the tracked process is the command
                RunLocator handle = new RunLocator(ExecutorRegistry.LOCAL, Hosts.name(), new ProcessLocation(watcher.pid(),
                        watcher.toHandle().info().startInstant().orElse(null), tracked, ProcessGroups.startTime(tracked)).value());
                exp = service.openTracked(id, name, p, commandLine(tracked), handle);
            } catch (RuntimeException | java.io.IOException e) {
                watcher.destroyForcibly();
                throw e;
            }
            ObjectNode out = JSON.createObjectNode();
            out.put("id", exp.id());
            out.put("name", exp.name());
            out.put("events_file", paths.eventsFile(id, 1).toString());
            out.put("artifact_dir", paths.runDir(id).resolve("artifacts").toString());
            System.out.println(out);
            return 0;
        }

        /** The watcher runs in its own session, so it outlives the SDK's call and a Ctrl-C in the notebook's terminal. */
        private static Process startWatcher(ProjectPaths paths, String id, long tracked) throws java.io.IOException {
            List<String> cmd = SelfCommand.of(paths.projectDir(), List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"),
                    List.of("track", "watch", id, "--pid", Long.toString(tracked)));
            return new ProcessBuilder(ProcessGroups.inNewGroup(cmd))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(paths.runDir(id).resolve("logs").resolve("watch.log").toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        }

        private static List<String> commandLine(long pid) {
            try {
                byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
                List<String> argv = new ArrayList<>();
                for (String part : new String(raw, StandardCharsets.UTF_8).split("\u0000")) {
                    if (!part.isEmpty()) {
                        argv.add(part);
                    }
                }
                return argv;
            } catch (Exception e) {
                System.getLogger(TrackCommand.class.getName()).log(System.Logger.Level.DEBUG, "the command line of process {0} is unreadable in /proc: {1}", String.valueOf(pid), e);
                return ProcessHandle.of(pid).flatMap(h -> h.info().command()).map(List::of).orElse(List.of());
            }
        }
    }

    @Command(name = "watch", hidden = true, mixinStandardHelpOptions = true,
            description = "Tail a tracked run's events into the ledger until it ends (started by 'track open').")
    static final class Watch implements Callable<Integer> {
        @ParentCommand
        TrackCommand parent;

        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--pid", required = true, paramLabel = "PID")
        long pid;

        @Override
        public Integer call() throws Exception {
            var context = parent.main.context();
            ProjectPaths paths = context.paths();
            ExperimentService service = context.service();
            Experiment exp = awaitRecord(service);
            ProcessLocation located = ProcessLocation.of(exp.handle(), ExecutorRegistry.LOCAL);
            Instant trackedStart = located == null ? null : located.processStart();
            MetricCollector metrics = new MetricCollector(TaskConfig.adHoc("tracked"), paths.projectDir());
            OutputCollector outputs = new OutputCollector(paths.projectDir(), context.store());
            List<RunEvents.Artifact> requested = new ArrayList<>();
            List<MetricPoint> pending = new ArrayList<>();
            RunEvents.End[] end = {null};
            Experiment[] current = {exp};
            long lastFlush = System.nanoTime();
            RunEventDispatch events = new RunEventDispatch(metrics, new RunEventDispatch.Handler() {
                @Override
                public void metrics(List<MetricPoint> points) {
                    pending.addAll(points);
                }

                @Override
                public void params(Map<String, Object> values) {
                    Experiment withParams = withParams(current[0], values);
                    if (service.ledger().update(withParams, ExperimentStatus.RUNNING)) {
                        current[0] = withParams;
                    }
                }

                @Override
                public void artifact(RunEvents.Artifact a) {
                    requested.add(a);
                    save(service, outputs, a, paths.projectDir());
                }

                @Override
                public void end(RunEvents.End en) {
                    end[0] = en;
                }
            });
            try (LogTailer tailer = new LogTailer(paths.eventsFile(exp.id(), exp.attempt()), 0)) {
                while (true) {
                    boolean alive = ProcessGroups.isAlive(pid, trackedStart);
                    java.util.function.Consumer<String> onLine = events::line;
                    if (alive && end[0] == null) {
                        tailer.pump(onLine);
                    } else {
                        tailer.drain(onLine);
                    }
                    if (pending.size() >= 5000 || System.nanoTime() - lastFlush >= FLUSH.toNanos() || end[0] != null || !alive) {
                        if (!pending.isEmpty()) {
                            service.ledger().recordMetrics(exp.id(), List.copyOf(pending));
                            pending.clear();
                        }
                        lastFlush = System.nanoTime();
                    }
                    Optional<Experiment> now = service.ledger().find(exp.id());
                    if (end[0] != null || !alive || now.isEmpty() || now.get().status() != ExperimentStatus.RUNNING) {
                        break;
                    }
                    Thread.sleep(POLL.toMillis());
                }
            }
            for (RunEvents.Artifact a : requested) {
                save(service, outputs, a, paths.projectDir());
            }
            if (end[0] != null) {
                service.finishTracked(current[0], end[0].succeeded() ? ExperimentStatus.SUCCEEDED : ExperimentStatus.FAILED, end[0].error());
            } else {
                service.finishTracked(current[0], ExperimentStatus.INTERRUPTED, "the tracked process ended without finishing the run");
            }
            return 0;
        }

        private Experiment awaitRecord(ExperimentService service) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                Optional<Experiment> e = service.ledger().find(id);
                if (e.isPresent()) {
                    return e.get();
                }
                Thread.sleep(50);
            }
            throw new ConfigException("tracked experiment " + id + " was never recorded");
        }

        private static Experiment withParams(Experiment e, Map<String, Object> add) {
            Params p = e.params();
            for (Map.Entry<String, Object> x : add.entrySet()) {
                p = p.with(x.getKey(), x.getValue());
            }
            return new Experiment(e.id(), e.name(), e.status(), e.executor(), e.command(), p, e.code(), e.task(), e.createdAt(),
                    e.startedAt(), e.endedAt(), e.exitCode(), e.error(), e.attempt(), e.handle());
        }

        private void save(ExperimentService service, OutputCollector outputs, RunEvents.Artifact a, Path projectDir) {
            try {
                List<ArtifactRecord> saved = outputs.saveRequested(a.kind(), a.path(), projectDir);
                if (!saved.isEmpty()) {
                    service.ledger().recordArtifacts(id, saved);
                }
            } catch (java.io.IOException e) {
                System.err.println("sortie: could not save " + a.path() + ": " + e.getMessage());
            }
        }
    }

}
