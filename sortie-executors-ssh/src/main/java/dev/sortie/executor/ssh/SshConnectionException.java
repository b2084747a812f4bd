package dev.sortie.executor.ssh;

import java.io.IOException;

/** An SSH connection or command that failed, told the way a user can fix it (the host, what happened, what to do). */
public class SshConnectionException extends IOException {
    /** What went wrong, for callers that react differently (e.g. the CLI offering to accept a new host key). */
    public enum Kind { UNREACHABLE, HOST_KEY_UNKNOWN, HOST_KEY_CHANGED, HOST_KEY_REVOKED, AUTH_FAILED, BAD_IDENTITY, TIMEOUT, DISCONNECTED,
        /** The connection was closing when a command was to start: the command never reached the host. */
        CLOSED, OTHER }

    private final Kind kind;

    public SshConnectionException(Kind kind, String message, Throwable cause) {
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
