package dev.sortie.ledger;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.ReflectionSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

/**
 * Gives each static {@link PostgresServer} field of a test class the test run's PostgreSQL server: started once, on
 * the first class that asks (testkit/postgres/pg.sh), and stopped when the whole run ends, or with the JVM however it
 * ends (a test JVM SIGKILLed mid-run included: pg.sh serve). Where it cannot start
 * (Debian's {@code postgresql} package is not installed) the classes are skipped with why, except under CI
 * ({@code CI} set), where that fails them: CI installs it.
 */
public final class PostgresExtension implements BeforeAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PostgresExtension.class);

    /** The server, or why it did not start; kept in the root store, which closes it when the run ends. */
    private record Started(PostgresServer server, String whyNot) implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        @Override
        public void close() throws java.io.IOException {
            if (server != null) {
                server.close();
            }
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Started started = context.getRoot().getStore(NS).getOrComputeIfAbsent(Started.class, k -> start(), Started.class);
        if (started.server() == null) {
            String why = "PostgreSQL could not start for the tests: " + started.whyNot()
                    + " (they need Debian's 'postgresql' package, which .ci/run installs)";
            if (System.getenv("CI") != null) {
                throw new IllegalStateException(why);
            }
            Assumptions.abort(why);
        }
        for (Field f : ReflectionSupport.findFields(context.getRequiredTestClass(), f -> f.getType() == PostgresServer.class,
                HierarchyTraversalMode.TOP_DOWN)) {
            if (!Modifier.isStatic(f.getModifiers())) {
                throw new ExtensionConfigurationException("PostgresServer field " + f.getDeclaringClass().getSimpleName() + "."
                        + f.getName() + " must be static (one server for the whole run)");
            }
            f.setAccessible(true);
            f.set(null, started.server());
        }
    }

    private static Started start() {
        try {
            return new Started(PostgresServer.start(), null);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return new Started(null, e.getMessage());
        }
    }
}
