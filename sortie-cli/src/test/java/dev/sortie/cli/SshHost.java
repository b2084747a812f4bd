package dev.sortie.cli;

import dev.sortie.executor.ssh.SshdFixture;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A static {@link SshdFixture} field of a CLI test class that {@link SshHostsExtension} fills with a running host,
 * trusted by the sortie of this JVM and of the processes it spawns ({@link SshHosts}), before the class's
 * {@code @BeforeAll} methods, and closes after its {@code @AfterAll} methods: {@code @SshHost static SshdFixture sshd;}
 * in place of a start and a stop of one's own. A static {@link SshHosts} field with it gets the hosts' set (to add
 * hosts to in a test).
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(SshHostsExtension.class)
public @interface SshHost {
    /** The size of the host's own disk for {@link SshdFixture#startWithDisk} ("24m"); empty: none of its own. */
    String disk() default "";
}
