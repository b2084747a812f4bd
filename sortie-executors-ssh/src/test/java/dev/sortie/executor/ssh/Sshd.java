package dev.sortie.executor.ssh;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A static {@link SshdFixture} field of a test class that {@link SshdExtension} fills with a running host before
 * the class's {@code @BeforeAll} methods and closes after its {@code @AfterAll} methods:
 * {@code @Sshd static SshdFixture sshd;} in place of a start and a stop of one's own.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(SshdExtension.class)
public @interface Sshd {
    /** The size of the host's own disk for {@link SshdFixture#startWithDisk} ("16m"); empty: none of its own. */
    String disk() default "";
}
