package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class SshExecutorProviderTest {

    @Test
    void isFoundByServiceLoaderAsTypeSsh() {
        assertThat(ServiceLoader.load(ExecutorProvider.class).stream().map(p -> p.get().type())).contains("ssh");
    }

    @Test
    void buildsADetachableExecutorWithoutConnecting() throws Exception {
        ExecutorSpec spec = new ExecutorSpec("gpu1", "ssh", new YAMLMapper().readTree("{type: ssh, host: gpu1.example.org}"));
        try (Executor e = new SshExecutorProvider().create(spec, null)) {
            assertThat(e.name()).isEqualTo("gpu1");
            assertThat(e.type()).isEqualTo("ssh");
            assertThat(e).isInstanceOf(SshExecutor.class).isInstanceOf(dev.sortie.core.executor.DetachableExecutor.class);
            // remote runs are never judged by a local liveness probe: catchUp/attach look after them
            assertThat(e.probe(null)).isEqualTo(dev.sortie.core.executor.Executor.Liveness.UNKNOWN);
            // built for validation only (no project context): it can test the host but has no store to collect into
            assertThatThrownBy(() -> e.launch(null)).isInstanceOf(IllegalStateException.class).hasMessageContaining("without a store");
        }
    }

    @Test
    void badOptionsFailAtCreation() throws Exception {
        ExecutorSpec spec = new ExecutorSpec("gpu1", "ssh", new YAMLMapper().readTree("{type: ssh, hots: x}"));
        assertThatThrownBy(() -> new SshExecutorProvider().create(spec, null)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpu1.hots': unknown field; did you mean 'host'?");
    }
}
