package dev.sortie.cli;

import dev.sortie.core.util.FileTrees;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One simulated cloud per test class: started before the class's own {@code @BeforeAll} methods and put in its
 * static {@link Simcloud} field, closed after its {@code @AfterAll} methods, its state folder deleted. What each aws
 * test class wrote out by hand (a shared temp folder, start, close).
 */
final class SimcloudExtension implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SimcloudExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Path dir = Files.createTempDirectory("sortie-simcloud-");
        ExtensionContext.Store store = context.getStore(NS);
        store.put(Path.class, dir);
        Simcloud cloud = Simcloud.start(dir.resolve("simcloud"));
        store.put(Simcloud.class, cloud);
        for (Field f : context.getRequiredTestClass().getDeclaredFields()) {
            if (f.getType() == Simcloud.class && Modifier.isStatic(f.getModifiers())) {
                f.setAccessible(true);
                f.set(null, cloud);
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        ExtensionContext.Store store = context.getStore(NS);
        Simcloud cloud = store.remove(Simcloud.class, Simcloud.class);
        Path dir = store.remove(Path.class, Path.class);
        try {
            if (cloud != null) {
                cloud.close();
            }
        } finally {
            if (dir != null) {
                try {
                    FileTrees.delete(dir);
                } catch (java.io.IOException e) {
                    // a VM's leftover (a busy mount) must not fail the class whose tests passed: the OS cleans /tmp
                    System.err.println("simcloud: could not delete " + dir + ": " + e);
                }
            }
        }
    }
}
