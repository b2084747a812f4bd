package dev.sortie.ledger;

/** What the ledger's SQL needs to say differently on each database it runs on; everything else is shared. */
enum SqlDialect {
    SQLITE(""),
    /**
     * Workers skip each other's claimed rows instead of waiting for them: a claim's select locks the row it takes, and a
     * second worker's select passes over it to the next queued experiment.
     */
    POSTGRESQL(" FOR UPDATE SKIP LOCKED");

    private final String claimLock;

    SqlDialect(String claimLock) {
        this.claimLock = claimLock;
    }

    /** The folder of this database's own migrations, under {@code db/vendor/}. */
    String folder() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Appended to the select of a queue claim: none on SQLite, whose write transactions are exclusive already. */
    String claimLock() {
        return claimLock;
    }

    /**
     * A text column in code-point order, the order SQLite and Java compare in, whatever the PostgreSQL database's
     * collation: its index for the table's sort by name is built with the same {@code COLLATE "C"}. (Statuses are
     * lowercase ASCII words, in the same order in every collation.)
     */
    String byCodePoint(String column) {
        return this == POSTGRESQL ? column + " COLLATE \"C\"" : column;
    }

    /**
     * An order term of a column that may be null, nulls coming first (the smallest), or last when descending: SQLite's
     * own order, said explicitly on PostgreSQL (which puts them last), whose index is built to match.
     */
    String nullsSmallest(String column, boolean descending) {
        if (this == POSTGRESQL) {
            return column + (descending ? " DESC NULLS LAST" : " NULLS FIRST");
        }
        return column + (descending ? " DESC" : "");
    }

    /** The statement that shows how a query would run. */
    String explain(String sql) {
        return (this == POSTGRESQL ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + sql;
    }
}
