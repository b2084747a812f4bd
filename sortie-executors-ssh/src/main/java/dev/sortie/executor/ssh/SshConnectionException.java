package dev.sortie.executor.ssh;

import dev.sortie.executor.remote.channel.ChannelException;

/**
 * An SSH connection or command that failed, told the way a user can fix it (the host, what happened, what to do).
 * Its SSH {@link Kind} says which host key or identity was at fault; {@link #kind()} is the channel's view of it.
 */
public class SshConnectionException extends ChannelException {
    /** What went wrong, for callers that react differently (e.g. the CLI offering to accept a new host key). */
    public enum Kind { UNREACHABLE, HOST_KEY_UNKNOWN, HOST_KEY_CHANGED, HOST_KEY_REVOKED, AUTH_FAILED, BAD_IDENTITY, TIMEOUT, DISCONNECTED,
        /** The connection was closing when a command was to start: the command never reached the host. */
        CLOSED, OTHER }

    private final Kind sshKind;

    public SshConnectionException(Kind kind, String message, Throwable cause) {
        super(channelKind(kind), message, cause);
        this.sshKind = kind;
    }

    /** What went wrong in SSH's terms (which host key, which identity). */
    public Kind sshKind() {
        return sshKind;
    }

    static ChannelException.Kind channelKind(Kind kind) {
        return switch (kind) {
            case UNREACHABLE -> ChannelException.Kind.UNREACHABLE;
            case TIMEOUT -> ChannelException.Kind.TIMEOUT;
            case DISCONNECTED -> ChannelException.Kind.DISCONNECTED;
            case CLOSED -> ChannelException.Kind.CLOSED;
            case HOST_KEY_UNKNOWN, HOST_KEY_CHANGED, HOST_KEY_REVOKED -> ChannelException.Kind.REFUSED;
            case AUTH_FAILED, BAD_IDENTITY -> ChannelException.Kind.AUTH;
            case OTHER -> ChannelException.Kind.OTHER;
        };
    }
}
