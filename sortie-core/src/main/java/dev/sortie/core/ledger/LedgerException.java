package dev.sortie.core.ledger;

/** The ledger could not do what was asked (I/O, locking, a constraint). The CLI exits with code 3 on it, or 2 for a name clash. */
public class LedgerException extends RuntimeException {
    private final boolean conflict;

    public LedgerException(String message, Throwable cause) {
        this(message, cause, false);
    }

    public LedgerException(String message, Throwable cause, boolean conflict) {
        super(message, cause);
        this.conflict = conflict;
    }

    /** True when the failure is the caller's: a duplicate id or name. */
    public boolean isConflict() {
        return conflict;
    }
}
