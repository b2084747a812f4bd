package dev.sortie.executor.remote.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.channel.HostChannel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A host that did not answer is not asked again for {@link RemoteHost#RECENT_FAILURE} (ten looks at a dead host wait
 * for one connect), unless the caller says it polls a host coming up ({@link RemoteHost#forgetFailure()}): a booting
 * instance refuses until its sshd runs, and each poll must try again.
 */
class RemoteHostFailureTest {

    /** An access to a host that refuses every connect, counting them. */
    static final class Refusing implements RemoteHost.Access {
        final AtomicInteger connects = new AtomicInteger();

        @Override
        public String executorName() {
            return "booting";
        }

        @Override
        public String hostKey() {
            return "root@127.0.0.1:22";
        }

        @Override
        public String remoteDir() {
            return "/tmp/sortie";
        }

        @Override
        public Duration lostAfter() {
            return Duration.ofMinutes(5);
        }

        @Override
        public HostChannel connect(boolean mayAsk) throws ChannelException {
            connects.incrementAndGet();
            throw new ChannelException(ChannelException.Kind.UNREACHABLE, "connection refused", null);
        }
    }

    @Test
    void aRefusalIsRememberedForAWhileUnlessTheCallerPollsAHostComingUp() {
        Refusing access = new Refusing();
        RemoteHost host = new RemoteHost(access, null, null);
        assertThatThrownBy(() -> host.connection(false)).isInstanceOf(ChannelException.class);
        assertThatThrownBy(() -> host.connection(false)).isInstanceOf(ChannelException.class).hasMessageContaining("refused");
        assertThat(access.connects).as("the second look takes the first's answer").hasValue(1);

        host.forgetFailure();
        assertThatThrownBy(() -> host.connection(false)).isInstanceOf(ChannelException.class);
        assertThat(access.connects).as("after forgetFailure the host is asked again at once").hasValue(2);
    }
}
