package dev.sortie.executor.remote.channel;

import java.io.IOException;

/**
 * A channel to a host that could not be opened, or a command on it that failed as a command of the channel (not of
 * the host), told the way a user can fix it. Its {@link Kind} is what the remote-run path reacts to: a host that does
 * not answer is waited for (or a pool's other hosts tried), one that refuses is reported. Each channel type may say
 * more in a subclass (e.g. which host key was refused).
 */
public class ChannelException extends IOException {
    /** What went wrong, in terms every channel shares. */
    public enum Kind {
        /** Nothing answered: the host is down, no route, unknown name, connection refused. */
        UNREACHABLE,
        /** The host (or a step on the way) did not answer in time. */
        TIMEOUT,
        /** An open channel broke in the middle of a command: it may have run. */
        DISCONNECTED,
        /** The channel was closing when a command was to start: the command never reached the host. */
        CLOSED,
        /** The host answered but is not trusted (e.g. an unknown or changed host key): the user must decide. */
        REFUSED,
        /** The host answered but would not let us in (credentials, keys, passphrases). */
        AUTH,
        /** Anything else. */
        OTHER
    }

    private final Kind kind;

    public ChannelException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** The host did not answer (down, unreachable, gone quiet), as opposed to answering with a refusal to fix (keys, auth). */
    public boolean hostUnreachable() {
        return kind == Kind.UNREACHABLE || kind == Kind.TIMEOUT || kind == Kind.DISCONNECTED || kind == Kind.CLOSED;
    }
}
