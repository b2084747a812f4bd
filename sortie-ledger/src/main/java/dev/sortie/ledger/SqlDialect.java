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

    /**
     * The text an ordered comparison or sort of a text column is made on: code-point order, as {@link #byCodePoint}.
     * Equality needs none (and would keep PostgreSQL from the column's index).
     */
    String ordered(String text) {
        return byCodePoint(text);
    }

    /** Whether {@code needle} (one placeholder) is in the text. */
    String contains(String text) {
        return this == POSTGRESQL ? "strpos(" + text + ", ?) > 0" : "instr(" + text + ", ?) > 0";
    }

    /**
     * What a page's FROM adds so a row's params are parsed once, not once per use: PostgreSQL reads the JSON text into
     * jsonb in a lateral subquery ({@code OFFSET 0} keeps it from being inlined back into every use). NaN and the
     * infinities, which the ledger writes as bare numbers (JsonColumns), are no JSON to PostgreSQL: they read as null
     * (inside a string the replacement leaves a string). SQLite's json_extract parses its column where used.
     */
    String paramsJoin() {
        return this == POSTGRESQL
                ? " CROSS JOIN LATERAL (SELECT (CASE WHEN strpos(params, 'NaN') + strpos(params, 'Infinity') = 0 THEN params"
                        + " ELSE replace(replace(replace(params, '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', 'null') END)::jsonb"
                        + " AS doc OFFSET 0) AS p"
                : "";
    }

    /** The JSON value at {@code path} (nested keys) of a row's params: SQL null where it has none. */
    String param(java.util.List<String> path) {
        if (this == POSTGRESQL) {
            String keys = path.stream().map(SqlDialect::literal).collect(java.util.stream.Collectors.joining(", "));
            return "(p.doc #> ARRAY[" + keys + "]::text[])";
        }
        return "json_extract(params, " + sqlitePath(path) + ")";
    }

    private static String sqlitePath(java.util.List<String> path) {
        StringBuilder p = new StringBuilder("$");
        for (String part : path) {
            p.append(".\"").append(part.replace("\"", "")).append('"');
        }
        return literal(p.toString());
    }

    /** The param at {@code path} as a number, null when it is none (text, a boolean, an object, absent). */
    String paramNumber(java.util.List<String> path) {
        String json = param(path);
        // SQLite's json_extract reads a JSON true as the integer 1: its json_type tells a boolean from a number
        return this == POSTGRESQL
                ? "(CASE WHEN jsonb_typeof(" + json + ") = 'number' THEN (" + json + " #>> '{}')::double precision END)"
                : "(CASE WHEN json_type(params, " + sqlitePath(path) + ") IN ('integer', 'real') THEN " + json + " END)";
    }

    /**
     * The param at {@code path} as text (a number's digits, a string's characters, a boolean's 'true' or 'false', as Java
     * writes them), null when absent or JSON null. A boolean is text on both databases: {@code flag=true} and a sort by a
     * boolean param give the same rows in the same order on SQLite (whose json_extract would give 1 and 0) and PostgreSQL.
     */
    String paramText(java.util.List<String> path) {
        if (this == POSTGRESQL) {
            return "(" + param(path) + " #>> '{}')";
        }
        String type = "json_type(params, " + sqlitePath(path) + ")";
        return "(CASE " + type + " WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(" + param(path) + " AS TEXT) END)";
    }

    /** A SQL string literal of {@code s}. */
    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
