package dev.sortie.sdk;

/**
 * Sortie could not be reached or refused: the {@code sortie} command is missing, {@code sortie track open}
 * failed or printed nothing usable, or the events file cannot be opened. An {@link IllegalStateException}, so
 * code that catches that catches this too.
 */
public class SortieException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public SortieException(String message) {
        super(message);
    }

    public SortieException(String message, Throwable cause) {
        super(message, cause);
    }
}
