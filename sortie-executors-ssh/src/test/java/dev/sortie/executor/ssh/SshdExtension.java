package dev.sortie.executor.ssh;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

/**
 * Starts a real sshd ({@link SshdFixture}) for each {@link Sshd} field of a test class, once for the class, and
 * kills it (with whatever it started) when the class is done, the last started first. A host that cannot start
 * (no sshd installed) skips the class, as {@link SshdFixture#start()} does.
 */
public final class SshdExtension implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SshdExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        List<SshdFixture> started = new ArrayList<>();
        context.getStore(NS).put(context.getRequiredTestClass(), started);
        for (Field f : AnnotationSupport.findAnnotatedFields(context.getRequiredTestClass(), Sshd.class,
                field -> true, HierarchyTraversalMode.TOP_DOWN)) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != SshdFixture.class) {
                throw new ExtensionConfigurationException("@Sshd field " + f.getDeclaringClass().getSimpleName() + "."
                        + f.getName() + " must be a static SshdFixture (one host for the whole class)");
            }
            String disk = f.getAnnotation(Sshd.class).disk();
            SshdFixture host = disk.isEmpty() ? SshdFixture.start() : SshdFixture.startWithDisk(disk);
            started.add(host);
            f.setAccessible(true);
            f.set(null, host);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        @SuppressWarnings("unchecked")
        List<SshdFixture> started = context.getStore(NS).remove(context.getRequiredTestClass(), List.class);
        if (started == null) {
            return;
        }
        Exception first = null;
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
