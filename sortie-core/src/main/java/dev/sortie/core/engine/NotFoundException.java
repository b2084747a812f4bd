package dev.sortie.core.engine;

/** A name the user typed (an experiment, an executor) matches nothing; the message says what exists. Exit code 2. */
public class NotFoundException extends RuntimeException {
    public NotFoundException(String message) {
        super(message);
    }
}
