package dev.sortie.executor.ssh;

import java.io.EOFException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.sshd.agent.common.AbstractAgentProxy;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * A client of a running ssh-agent over its unix socket ({@code $SSH_AUTH_SOCK}). MINA SSHD's own unix agent client
 * needs Tomcat's APR native library; this one uses the JDK's unix-domain sockets (Java 16+) and leaves the agent
 * protocol (listing keys, signing, RSA SHA-2 flags) to MINA's {@link AbstractAgentProxy}. Private keys never leave
 * the agent: it only signs.
 */
final class UnixSocketAgent extends AbstractAgentProxy {
    /** OpenSSH's ssh-agent refuses messages over 256 KiB; an answer claiming more is not from an agent. */
    private static final int MAX_MESSAGE = 256 * 1024;
    private final Path socket;
    private final SocketChannel channel;
    private final Predicate<PublicKey> offered;

    /**
     * @param offered which of the agent's keys to offer to the host (all of them, or under {@code IdentitiesOnly}
     *                only those of the configured identity files)
     */
    UnixSocketAgent(Path socket, Predicate<PublicKey> offered) throws IOException {
        super(null); // requests are synchronous on the caller's thread: no pump thread to run
        this.socket = socket;
        this.offered = offered;
        this.channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    }

    @Override
    public Iterable<? extends Map.Entry<PublicKey, String>> getIdentities() throws IOException {
        List<Map.Entry<PublicKey, String>> keys = new ArrayList<>();
        for (Map.Entry<PublicKey, String> e : super.getIdentities()) {
            if (offered.test(e.getKey())) {
                keys.add(e);
            }
        }
        return keys;
    }

    /** Sends one framed request ({@link #prepare} wrote its length) and reads the agent's one framed answer. */
    @Override
    protected synchronized Buffer request(Buffer buffer) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(buffer.array(), buffer.rpos(), buffer.available());
        while (out.hasRemaining()) {
            channel.write(out);
        }
        ByteBuffer length = readFully(4);
        int n = length.getInt();
        if (n <= 0 || n > MAX_MESSAGE) {
            throw new IOException("ssh-agent at " + socket + " sent a message of " + n + " bytes; is it an ssh-agent socket?");
        }
        return new ByteArrayBuffer(readFully(n).array());
    }

    private ByteBuffer readFully(int n) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(n);
        while (in.hasRemaining()) {
            if (channel.read(in) < 0) {
                throw new EOFException("ssh-agent at " + socket + " closed the connection");
            }
        }
        return in.flip();
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            super.close();
        }
    }

    @Override
    public String toString() {
        return "ssh-agent " + socket;
    }
}
