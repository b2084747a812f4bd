package dev.sortie.cli.server;

import dev.sortie.core.util.FileTrees;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

/**
 * Starts the {@link StartedServer} of a test class in a temp folder of its own, makes its {@link ServerToken}s, and
 * when the class is done stops it (SIGTERM, as a service manager does) and deletes the folder.
 */
public final class ServerExtension implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ServerExtension.class);

    /** What a class started: the server and the folder it lives in. */
    private record Started(ServerProcess server, Path root) {
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Class<?> test = context.getRequiredTestClass();
        List<Field> servers = AnnotationSupport.findAnnotatedFields(test, StartedServer.class, f -> true, HierarchyTraversalMode.TOP_DOWN);
        if (servers.size() != 1 || !Modifier.isStatic(servers.get(0).getModifiers()) || servers.get(0).getType() != ServerProcess.class) {
            throw new ExtensionConfigurationException(test.getSimpleName() + ": @StartedServer goes on one static ServerProcess field, found "
                    + servers.stream().map(Field::getName).toList());
        }
        Field field = servers.get(0);
        StartedServer spec = field.getAnnotation(StartedServer.class);
        Map<String, String> env = new HashMap<>();
        for (String e : spec.env()) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new ExtensionConfigurationException(test.getSimpleName() + "." + field.getName() + ": env entry '" + e
                        + "' is not NAME=value");
            }
            env.put(e.substring(0, eq), e.substring(eq + 1));
        }
        Path root = Files.createTempDirectory("sortie-test-server");
        ServerProcess server;
        try {
            server = ServerProcess.start(root.resolve("server"), env,
                    HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), spec.args());
        } catch (Exception | Error e) {
            FileTrees.delete(root);
            throw e;
        }
        context.getStore(NS).put(test, new Started(server, root));
        field.setAccessible(true);
        field.set(null, server);
        for (Field f : AnnotationSupport.findAnnotatedFields(test, ServerToken.class, x -> true, HierarchyTraversalMode.TOP_DOWN)) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != String.class) {
                throw new ExtensionConfigurationException("@ServerToken field " + test.getSimpleName() + "." + f.getName()
                        + " must be a static String");
            }
            ServerToken t = f.getAnnotation(ServerToken.class);
            f.setAccessible(true);
            f.set(null, server.token(t.value(), t.readOnly()));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        Started s = context.getStore(NS).remove(context.getRequiredTestClass(), Started.class);
        if (s != null) {
            try {
                s.server().close();
            } finally {
                FileTrees.delete(s.root());
            }
        }
    }
}
