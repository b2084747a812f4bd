package dev.sortie.cli;

import dev.sortie.executor.ssh.SshdFixture;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

/**
 * Starts one {@link SshHosts} for a test class with a host for each of its {@link SshHost} {@code SshdFixture} fields
 * (in the order they are declared), and closes it, with whatever runs on those hosts, when the class is done.
 */
public final class SshHostsExtension implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SshHostsExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        SshHosts hosts = SshHosts.start(0);
        context.getStore(NS).put(context.getRequiredTestClass(), hosts);
        for (Field f : AnnotationSupport.findAnnotatedFields(context.getRequiredTestClass(), SshHost.class,
                field -> true, HierarchyTraversalMode.TOP_DOWN)) {
            if (!Modifier.isStatic(f.getModifiers()) || (f.getType() != SshdFixture.class && f.getType() != SshHosts.class)) {
                throw new ExtensionConfigurationException("@SshHost field " + f.getDeclaringClass().getSimpleName() + "."
                        + f.getName() + " must be a static SshdFixture (one host for the whole class) or SshHosts (the set)");
            }
            f.setAccessible(true);
            if (f.getType() == SshHosts.class) {
                f.set(null, hosts);
                continue;
            }
            String disk = f.getAnnotation(SshHost.class).disk();
            f.set(null, disk.isEmpty() ? hosts.add() : hosts.addWithDisk(disk));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        SshHosts hosts = context.getStore(NS).remove(context.getRequiredTestClass(), SshHosts.class);
        if (hosts != null) {
            hosts.close();
        }
    }
}
