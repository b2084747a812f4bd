package dev.sortie.core.util;

import java.io.IOException;
import java.net.InetAddress;

/** This machine's name, as run handles record it. */
public final class Hosts {
    private static final System.Logger LOG = System.getLogger(Hosts.class.getName());
    /**
     * Looked up once per process: the name does not change while it runs, and the lookup (a resolver call) would
     * otherwise happen for every run started and every liveness check.
     */
    private static final String NAME = lookUp();

    private Hosts() {
    }

    public static String name() {
        return NAME;
    }

    private static String lookUp() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "this machine has no name that resolves ({0}); calling it localhost", e);
            return "localhost";
        }
    }
}
