package dev.sortie.ledger;

import java.nio.file.Files;

/**
 * A JVM of its own that starts the tests' PostgreSQL server as a test run does and then waits to be killed: prints
 * {@code started PID CLUSTER_DIR} (the postmaster's pid), or {@code failed WHY} and exits 3 where it cannot start.
 */
public final class PostgresServerChild {
    private PostgresServerChild() {
    }

    public static void main(String[] args) throws Exception {
        PostgresServer server;
        try {
            server = PostgresServer.start();
        } catch (IllegalStateException e) {
            System.out.println("failed " + e.getMessage().replace('\n', ' '));
            System.exit(3);
            return;
        }
        String pid = Files.readAllLines(server.clusterDir().resolve("data/postmaster.pid")).get(0).strip();
        System.out.println("started " + pid + " " + server.clusterDir());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
