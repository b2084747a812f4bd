package dev.sortie.cli.server;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A static String field of a test class with a {@link StartedServer} that {@link ServerExtension} fills with a new
 * token of that server, made by {@code sortie server token create --name NAME} as its operator does.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
public @interface ServerToken {
    /** The token's name. */
    String value();

    /** A read-only token ({@code --read-only}). */
    boolean readOnly() default false;
}
