package dev.sortie.core.executor;

import dev.sortie.core.model.ExperimentStatus;

/** How a run ended: its status, the command's exit code (null if it never started), and why, when it failed. */
public record RunOutcome(ExperimentStatus status, Integer exitCode, String error) {
}
