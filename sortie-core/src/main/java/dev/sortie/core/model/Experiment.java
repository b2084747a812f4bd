package dev.sortie.core.model;

import dev.sortie.core.params.Params;
import java.time.Instant;
import java.util.Objects;

/**
 * One run of a command with a set of params on one executor, as the ledger keeps it. Immutable: every change
 * makes a new record through the {@code with*} methods.
 *
 * @param task      the task as it was resolved at creation (JSON of {@link dev.sortie.core.config.TaskConfig}),
 *                  kept so a retry runs exactly the same thing
 * @param attempt   1 for the first run, incremented by each retry
 */
public record Experiment(
        String id,
        String name,
        ExperimentStatus status,
        String executor,
        CommandSpec command,
        Params params,
        CodeRef code,
        String task,
        Instant createdAt,
        Instant startedAt,
        Instant endedAt,
        Integer exitCode,
        String error,
        int attempt,
        RunLocator handle) {

    public Experiment {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(executor, "executor");
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    public Experiment withStatus(ExperimentStatus s) {
        return new Experiment(id, name, s, executor, command, params, code, task, createdAt, startedAt, endedAt, exitCode, error, attempt, handle);
    }

    /** The same attempt, started at {@code at} (when its command started rather than when it was claimed). */
    public Experiment withStartedAt(Instant at) {
        return new Experiment(id, name, status, executor, command, params, code, task, createdAt, at, endedAt, exitCode, error, attempt, handle);
    }

    public Experiment started(Instant at, RunLocator h) {
        return new Experiment(id, name, ExperimentStatus.RUNNING, executor, command, params, code, task, createdAt, at, null, null, null, attempt, h);
    }

    public Experiment ended(ExperimentStatus s, Instant at, Integer code, String err) {
        return new Experiment(id, name, s, executor, command, params, this.code, task, createdAt, startedAt, at, code, err, attempt, handle);
    }

    public Experiment withHandle(RunLocator h) {
        return new Experiment(id, name, status, executor, command, params, code, task, createdAt, startedAt, endedAt, exitCode, error, attempt, h);
    }

    public Experiment withName(String n) {
        return new Experiment(id, n, status, executor, command, params, code, task, createdAt, startedAt, endedAt, exitCode, error, attempt, handle);
    }

    public Experiment withTask(String t) {
        return new Experiment(id, name, status, executor, command, params, code, t, createdAt, startedAt, endedAt, exitCode, error, attempt, handle);
    }

    public Experiment withCode(CodeRef c) {
        return new Experiment(id, name, status, executor, command, params, c, task, createdAt, startedAt, endedAt, exitCode, error, attempt, handle);
    }

    /** Back in the queue at the same attempt: it was claimed but its command never started. */
    public Experiment unclaimed() {
        return new Experiment(id, name, ExperimentStatus.QUEUED, executor, command, params, code, task, createdAt, null, null, null, null, attempt, null);
    }

    /** Whether a command of this attempt was ever started (a claimed experiment may wait for a slot first). */
    public boolean commandStarted() {
        return handle != null && !handle.launcher();
    }

    /** The same experiment made ready to run again: next attempt, no end, no handle. */
    public Experiment nextAttempt(ExperimentStatus s) {
        return new Experiment(id, name, s, executor, command, params, code, task, createdAt, null, null, null, null, attempt + 1, null);
    }

    /** Wall time between start and end, or until {@code now} while running; null if never started. */
    public java.time.Duration duration(Instant now) {
        if (startedAt == null) {
            return null;
        }
        Instant end = endedAt != null ? endedAt : (status == ExperimentStatus.RUNNING ? now : startedAt);
        return java.time.Duration.between(startedAt, end);
    }
}
