package dev.sortie.core.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a project keeps Sortie's state: {@code .sortie/} beside {@code sortie.yaml}, holding the ledger, the
 * local store, the private code repository of non-git projects, and each experiment's run folder (its logs).
 */
public record ProjectPaths(Path projectDir) {
    public static final String STATE_DIR = ".sortie";

    public ProjectPaths {
        projectDir = projectDir.toAbsolutePath().normalize();
    }

    /** The nearest folder from {@code start} upwards that has sortie.yaml or .sortie/. */
    public static Optional<ProjectPaths> find(Path start) {
        Path dir = start.toAbsolutePath().normalize();
        Path home = Path.of(System.getProperty("user.home", "/")).toAbsolutePath().normalize();
        while (dir != null) {
            boolean hasState = Files.isDirectory(dir.resolve(STATE_DIR)) && !dir.equals(home);
            if (Files.isRegularFile(dir.resolve("sortie.yaml")) || hasState) {
                return Optional.of(new ProjectPaths(dir));
            }
            dir = dir.getParent();
        }
        return Optional.empty();
    }

    public Path stateDir() {
        return projectDir.resolve(STATE_DIR);
    }

    public Path ledgerFile() {
        return stateDir().resolve("ledger.db");
    }

    public Path storeDir() {
        return stateDir().resolve("store");
    }

    /** Sortie's own log ({@code .sortie/logs/sortie.log}): why something was skipped or retried, for a user to read. */
    public Path sortieLogFile() {
        return stateDir().resolve("logs").resolve("sortie.log");
    }

    public Path configFile() {
        return stateDir().resolve("config.yaml");
    }

    public Path runDir(String experimentId) {
        return stateDir().resolve("runs").resolve(experimentId);
    }

    /** Where the SDKs of an attempt append their events (sdk/PROTOCOL.md). */
    public Path eventsFile(String experimentId, int attempt) {
        return runDir(experimentId).resolve("logs").resolve("events-" + attempt + ".jsonl");
    }

    public Path logFile(String experimentId, int attempt) {
        return runDir(experimentId).resolve("logs").resolve("attempt-" + attempt + ".log");
    }
}
