package dev.sortie.ledger;

import java.sql.Connection;
import java.sql.SQLException;

/** A piece of work run inside one transaction of the ledger's connection. */
@FunctionalInterface
interface SqlWork<T> {
    T run(Connection connection) throws SQLException;
}
