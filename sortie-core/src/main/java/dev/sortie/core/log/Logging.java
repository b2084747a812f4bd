package dev.sortie.core.log;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * Points the JDK's logging (the backend of {@link System.Logger}, and of SLF4J through slf4j-jdk14) at Sortie's
 * handlers, in code rather than from a logging.properties file: Sortie's own loggers ({@code dev.sortie}) at DEBUG,
 * everything else (MINA SSHD, JGit, Flyway) at WARNING, so their debug chatter costs nothing and their warnings
 * land in the same file.
 */
public final class Logging {
    /** Sortie's own loggers' names start with this. */
    public static final String OURS = "dev.sortie";

    private Logging() {
    }

    /**
     * Tells the JDK not to read a logging.properties file (the JDK's default one adds a console handler); call
     * before anything logs. {@link NoFileConfig} is the "configuration class" the JDK instantiates instead.
     */
    public static void skipConfigFile() {
        if (System.getProperty("java.util.logging.config.class") == null && System.getProperty("java.util.logging.config.file") == null) {
            System.setProperty("java.util.logging.config.class", NoFileConfig.class.getName());
        }
    }

    /** Makes {@code handlers} the only ones of the root logger (so a second install in one JVM replaces the first). */
    public static void install(Handler... handlers) {
        Logger root = LogManager.getLogManager().getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
            h.close();
        }
        root.setLevel(Level.WARNING);
        Ours.LOGGER.setLevel(Level.FINE);
        for (Handler h : handlers) {
            root.addHandler(h);
        }
    }

    /** Adds a handler beside the installed ones (the CLI's {@code --verbose}, known only once its options are parsed). */
    public static void add(Handler handler) {
        LogManager.getLogManager().getLogger("").addHandler(handler);
    }

    /** Removes and closes {@code handlers}, leaving any others. */
    public static void remove(Handler... handlers) {
        Logger root = LogManager.getLogManager().getLogger("");
        for (Handler h : handlers) {
            root.removeHandler(h);
            h.close();
        }
    }

    /**
     * A strong reference: JUL keeps loggers weakly, and a logger collected and made again would lose its level.
     * In a class of its own so that {@link #skipConfigFile} does not start the JDK's logging.
     */
    private static final class Ours {
        static final Logger LOGGER = Logger.getLogger(OURS);
    }

    /** Instantiated by the JDK in place of reading a logging.properties file; {@link #install} configures. */
    public static final class NoFileConfig {
        public NoFileConfig() {
        }
    }
}
