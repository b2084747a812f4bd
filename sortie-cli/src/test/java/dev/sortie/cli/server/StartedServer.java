package dev.sortie.cli.server;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A static {@link ServerProcess} field of a test class that {@link ServerExtension} fills with a real
 * {@code sortie server} (in a temp folder of its own) before the class's {@code @BeforeAll} methods, and stops after
 * its {@code @AfterAll} methods: {@code @StartedServer(args = {"--workers", "2"}) static ServerProcess server;} in place
 * of a start and a stop of one's own. {@link ServerToken} fields of the class get tokens of it.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(ServerExtension.class)
public @interface StartedServer {
    /** The server's arguments after {@code --dir} ("--workers", "2"). */
    String[] args() default {};

    /** More in its environment, as {@code NAME=value}. */
    String[] env() default {};
}
