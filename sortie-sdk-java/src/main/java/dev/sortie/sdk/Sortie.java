package dev.sortie.sdk;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Sortie's Java SDK: report metrics, params and artifacts from Java code to Sortie.
 *
 * <pre>{@code
 * try (Run run = Sortie.start()) {
 *     run.log("loss", 0.3);                 // the next step of the "loss" series
 *     run.log("loss", 0.25, 5);             // at step 5
 *     run.log(Map.of("acc", 0.9), 5);
 *     run.logArtifact(Path.of("model.pt"));
 * }
 * }</pre>
 *
 * <p>Inside a run started by Sortie ({@code sortie run}, the queue: {@code $SORTIE_EVENTS_FILE} is set) the SDK
 * attaches to that experiment: events go to the run's events file and the command's exit decides how the
 * experiment ends. Outside one (a script or a test run by hand) {@code start()} runs {@code sortie track open} in
 * the current directory to create a tracked experiment of its own, so the run lands in the same table; the
 * command is {@code $SORTIE_BIN} if set (a command line), else {@code sortie} on {@code PATH}. With
 * {@code $SORTIE_SERVER} (or {@code $SORTIE_API}) and {@code $SORTIE_TOKEN} set, it reports to that Sortie server
 * instead: the run is created in the server's table through its API and what it logs is posted there as it goes,
 * buffered and sent again while the server is briefly down (see {@link ServerReporter}).
 *
 * <p>No dependencies beyond the JDK. The wire format is sdk/PROTOCOL.md in the Sortie repository.
 */
public final class Sortie {
    static final String EVENTS_FILE = "SORTIE_EVENTS_FILE";

    private Sortie() {
    }

    /**
     * Starts reporting, with the default name and no params.
     *
     * @throws SortieException if Sortie cannot be reached (outside a scheduled run: {@code sortie} missing or
     *                         {@code sortie track open} failing)
     */
    public static Run start() {
        return builder().start();
    }

    /**
     * Starts reporting as experiment {@code name} (null: Sortie's default) with {@code params} (may be null).
     * Inside a scheduled run both are fixed by {@code sortie run}: the name is Sortie's and the params are
     * recorded but ignored.
     *
     * @throws SortieException          if Sortie cannot be reached
     * @throws IllegalArgumentException if a param name is not a string
     */
    public static Run start(String name, Map<String, ?> params) {
        return builder().name(name).params(params).start();
    }

    /** {@code Sortie.builder().name("baseline").params(Map.of("lr", 0.01)).start()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options of {@link Sortie#start()}. */
    public static final class Builder {
        private String name;
        private Map<String, ?> params;
        private Map<String, String> env;
        private Path workingDirectory;

        private Builder() {
        }

        /** The experiment's name (outside a scheduled run; default: Sortie's, {@code <project>-<n>}). */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** The experiment's params: strings, numbers, booleans, null, nested maps and lists. */
        public Builder params(Map<String, ?> params) {
            this.params = params;
            return this;
        }

        /** The environment to read instead of {@link System#getenv()} (tests). */
        Builder env(Map<String, String> env) {
            this.env = env;
            return this;
        }

        /** The directory to start in instead of the current one (tests). */
        Builder workingDirectory(Path dir) {
            this.workingDirectory = dir;
            return this;
        }

        /** Starts the run; see {@link Sortie#start(String, Map)}. */
        public Run start() {
            return Sortie.start(env != null ? env : System.getenv(),
                    workingDirectory != null ? workingDirectory : Path.of("").toAbsolutePath(), name, params);
        }
    }

    /** The factory behind every start(): {@code env} stands for the process environment. */
    static Run start(Map<String, String> env, Path workingDirectory, String name, Map<String, ?> params) {
        String paramsJson = params == null ? null : Json.write(params); // validated (and copied) now
        String events = env.get(EVENTS_FILE);
        if (events != null && !events.isBlank()) {
            Path file = workingDirectory.resolve(events).toAbsolutePath().normalize();
            String envName = env.get("SORTIE_EXPERIMENT_NAME");
            String artifacts = env.get("SORTIE_ARTIFACT_DIR");
            Run run = open(env.get("SORTIE_EXPERIMENT_ID"), envName != null && !envName.isEmpty() ? envName : name,
                    true, file, artifacts == null || artifacts.isEmpty() ? null
                            : workingDirectory.resolve(artifacts).toAbsolutePath().normalize());
            if (params != null && !params.isEmpty()) {
                run.logParams(params);
            }
            return run;
        }
        String[] server = ServerReporter.settings(env);
        if (server != null) {
            return openOnServer(env, server[0], server[1], workingDirectory, name, paramsJson);
        }
        TrackOpen.Info info = TrackOpen.open(env, workingDirectory, name, paramsJson);
        return open(info.id(), info.name(), false, info.eventsFile(), info.artifactDir());
    }

    /**
     * A run in a Sortie server's table: created now if the server answers (else as soon as it does), its events
     * written to a temp file that {@link ServerReporter} posts from.
     */
    private static Run openOnServer(Map<String, String> env, String api, String token, Path workingDirectory, String name, String paramsJson) {
        byte[] b = new byte[5];
        new java.security.SecureRandom().nextBytes(b);
        String id = java.util.HexFormat.of().formatHex(b);
        StringBuilder create = new StringBuilder("{\"id\":\"").append(id).append('"');
        if (name != null) {
            create.append(",\"name\":");
            Json.appendString(create, name);
        }
        Path folder = workingDirectory.getFileName();
        if (folder != null) {
            create.append(",\"project\":");
            Json.appendString(create, folder.toString());
        }
        if (paramsJson != null) {
            create.append(",\"params\":").append(paramsJson);
        }
        String command = System.getProperty("sun.java.command");
        if (command != null && !command.isBlank()) {
            create.append(",\"command\":").append(Json.write(java.util.List.of("java", command.trim())));
        }
        String host = null;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            // no name: the server says "unknown"
        }
        if (host != null) {
            create.append(",\"host\":");
            Json.appendString(create, host);
        }
        create.append('}');
        Path events;
        try {
            events = java.nio.file.Files.createTempFile("sortie-" + id + "-", ".jsonl");
        } catch (java.io.IOException e) {
            throw new SortieException("sortie: cannot make the run's events file in " + System.getProperty("java.io.tmpdir") + ": " + e, e);
        }
        long waitMs = 30_000;
        String wait = env.get("SORTIE_REPORT_WAIT_S");
        if (wait != null && !wait.isBlank()) {
            try {
                waitMs = (long) (Double.parseDouble(wait.trim()) * 1000);
            } catch (NumberFormatException e) {
                throw new SortieException("sortie: SORTIE_REPORT_WAIT_S='" + wait + "': a number of seconds");
            }
        }
        ServerReporter reporter = new ServerReporter(api, token, id, create.toString(), events, waitMs);
        Map<?, ?> made = reporter.createNow();
        String madeName = made != null && made.get("name") instanceof String n ? n : name;
        Run run;
        try {
            run = new Run(id, madeName, false, events, null, reporter);
        } catch (IOException e) {
            throw new SortieException("sortie: cannot open the events file " + events + ": " + e, e);
        }
        reporter.start();
        return run;
    }

    private static Run open(String id, String name, boolean scheduled, Path eventsFile, Path artifactDir) {
        try {
            return new Run(id, name, scheduled, eventsFile, artifactDir);
        } catch (IOException e) {
            throw new SortieException("sortie: cannot open the events file " + eventsFile + ": " + e, e);
        }
    }
}
