package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import java.time.Duration;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class SshExecutorProviderTest {

    @Test
    void isFoundByServiceLoaderAsTypeSsh() {
        assertThat(ServiceLoader.load(ExecutorProvider.class).stream().map(p -> p.get().type())).contains("ssh");
    }

    @Test
    void buildsAnExecutorThatSaysRunningIsNotThereYet() throws Exception {
        ExecutorSpec spec = new ExecutorSpec("gpu1", "ssh", new YAMLMapper().readTree("{type: ssh, host: gpu1.example.org}"));
        try (Executor e = new SshExecutorProvider().create(spec, null)) {
            assertThat(e.name()).isEqualTo("gpu1");
            assertThat(e.type()).isEqualTo("ssh");
            assertThat(e).isInstanceOf(SshExecutor.class);
            assertThatThrownBy(() -> e.launch(null)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessage("executor 'gpu1': not yet: running on ssh executors arrives with the remote agent; "
                            + "`sortie executor test gpu1` checks the connection and the host meanwhile");
            assertThat(e.probe(null)).isEqualTo(dev.sortie.core.executor.Executor.Liveness.UNKNOWN);
            assertThatThrownBy(() -> e.stop(null, Duration.ZERO)).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> e.salvage(null, null)).isInstanceOf(UnsupportedOperationException.class);
        }
    }

    @Test
    void badOptionsFailAtCreation() throws Exception {
        ExecutorSpec spec = new ExecutorSpec("gpu1", "ssh", new YAMLMapper().readTree("{type: ssh, hots: x}"));
        assertThatThrownBy(() -> new SshExecutorProvider().create(spec, null)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpu1.hots': unknown field; did you mean 'host'?");
    }
}
