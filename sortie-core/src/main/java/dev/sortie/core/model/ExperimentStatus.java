package dev.sortie.core.model;

import java.util.Locale;

/** Where an experiment is in its life. Terminal states never change again, except by an explicit retry. */
public enum ExperimentStatus {
    QUEUED, RUNNING, SUCCEEDED, FAILED, STOPPED, INTERRUPTED;

    public boolean isTerminal() {
        return this != QUEUED && this != RUNNING;
    }

    /** The lower-case word users see and type in filters. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ExperimentStatus parse(String text) {
        for (ExperimentStatus s : values()) {
            if (s.label().equalsIgnoreCase(text.trim())) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown status '" + text + "' (valid: queued, running, succeeded, failed, stopped, interrupted)");
    }
}
