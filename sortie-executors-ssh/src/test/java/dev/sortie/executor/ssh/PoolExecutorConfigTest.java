package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.executor.remote.pool.PoolExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolExecutorConfigTest {
    private static final YAMLMapper YAML = new YAMLMapper();

    @TempDir
    Path tmp;

    private static Map<String, ExecutorSpec> executors(String yaml) throws Exception {
        Map<String, ExecutorSpec> out = new LinkedHashMap<>();
        JsonNode root = YAML.readTree(yaml);
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            out.put(e.getKey(), new ExecutorSpec(e.getKey(), e.getValue().get("type").asText(), e.getValue()));
        }
        return out;
    }

    private static final String HOSTS = "{gpu1: {type: ssh, host: gpu1.example.org, user: alice},"
            + " gpu2: {type: ssh, host: gpu2.example.org, port: 2222}, here: {type: local}}";

    private static PoolExecutorConfig parse(String yaml) throws Exception {
        return PoolExecutorConfig.fromOptions("gpus", YAML.readTree(yaml), executors(HOSTS));
    }

    @Test
    void namedHostsKeepTheirOwnSettings() throws Exception {
        PoolExecutorConfig c = parse("{type: pool, hosts: [gpu1, gpu2]}");
        assertThat(c.name()).isEqualTo("gpus");
        assertThat(c.slots()).isNull();
        assertThat(c.gpusPerSlot()).isNull();
        assertThat(c.hosts()).hasSize(2);
        PoolExecutorConfig.Host h1 = c.hosts().get(0);
        assertThat(h1.named()).isTrue();
        assertThat(h1.displayName()).isEqualTo("gpu1");
        assertThat(h1.ssh()).isEqualTo(SshExecutorConfig.fromOptions("gpu1", YAML.readTree("{type: ssh, host: gpu1.example.org, user: alice}")));
        assertThat(c.hosts().get(1).ssh().port()).isEqualTo(2222);
    }

    @Test
    void inlineHostsTakeThePoolsDefaults() throws Exception {
        PoolExecutorConfig c = parse("{type: pool, slots: 2, gpus_per_slot: '2', remote_dir: /scratch/sortie, lost_after: 10m,"
                + " connect_timeout: 5s, user: bob, hosts: [gpu1, {host: 10.0.0.7}, {host: 10.0.0.8, port: 2200, user: carol, type: ssh}]}");
        assertThat(c.slots()).isEqualTo(2);
        assertThat(c.gpusPerSlot()).isEqualTo(2);
        SshExecutorConfig named = c.hosts().get(0).ssh();
        assertThat(named.remoteDir()).isEqualTo(SshExecutorConfig.DEFAULT_REMOTE_DIR); // defaults are for inline hosts only
        assertThat(named.user()).isEqualTo("alice");
        SshExecutorConfig a = c.hosts().get(1).ssh();
        assertThat(a).isEqualTo(new SshExecutorConfig("gpus.hosts[1]", "10.0.0.7", null, "bob", null, false, Duration.ofSeconds(5),
                SshExecutorConfig.DEFAULT_KEEPALIVE, "/scratch/sortie", Duration.ofMinutes(10)));
        assertThat(c.hosts().get(1).named()).isFalse();
        assertThat(c.hosts().get(1).displayName()).isEqualTo("10.0.0.7");
        SshExecutorConfig b = c.hosts().get(2).ssh();
        assertThat(b.user()).isEqualTo("carol");
        assertThat(b.port()).isEqualTo(2200);
        assertThat(c.hosts().get(2).displayName()).isEqualTo("10.0.0.8:2200");
    }

    @Test
    void mistakesNameTheFieldAndWhatIsValid() {
        assertThatThrownBy(() -> parse("{type: pool}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpus.hosts': required").hasMessageContaining("ssh executors: gpu1, gpu2");
        assertThatThrownBy(() -> PoolExecutorConfig.fromOptions("gpus", null, Map.of())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpus': a pool needs options, at least 'hosts:'");
        assertThatThrownBy(() -> parse("{type: pool, hosts: []}")).hasMessageContaining("'executors.gpus.hosts': expected a non-empty list");
        assertThatThrownBy(() -> parse("{type: pool, hosts: gpu1}")).hasMessageContaining("'executors.gpus.hosts': expected a non-empty list")
                .hasMessageContaining("hosts: [gpu1]");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1, gpu3]}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpus.hosts[1]': no executor named 'gpu3' is configured; did you mean 'gpu1'?")
                .hasMessageContaining("ssh executors: gpu1, gpu2").hasMessageContaining("{host: gpu3}");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1, here]}"))
                .hasMessageContaining("'executors.gpus.hosts[1]': 'here' is a local executor; a pool's hosts are ssh executors");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpus]}")).hasMessageContaining("'executors.gpus.hosts[0]'");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1, gpu1]}"))
                .hasMessageContaining("'executors.gpus.hosts[1]': the same host as hosts[0] (gpu1.example.org)").hasMessageContaining("'slots:'");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu2, {host: gpu2.example.org, port: 2222}]}"))
                .hasMessageContaining("'executors.gpus.hosts[1]': the same host as hosts[0]");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1, 7]}")).hasMessageContaining("'executors.gpus.hosts[1]': expected the name of an ssh executor");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1, {host: h, prot: 22}]}"))
                .hasMessageContaining("'executors.gpus.hosts[1].prot': unknown field; did you mean 'port'?")
                .hasMessageContaining("valid fields of a pool's host: host, port, user");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [{host: h, slots: 2}]}"))
                .hasMessageContaining("'executors.gpus.hosts[0].slots': unknown field; 'slots' is set for the whole pool");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [{host: h, type: local}]}")).hasMessageContaining("'executors.gpus.hosts[0].type'");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [{host: h, port: 70000}]}"))
                .hasMessageContaining("'executors.gpus.hosts[0].port': expected a port number from 1 to 65535");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [{port: 22}]}")).hasMessageContaining("'executors.gpus.hosts[0].host': required");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1], slot: 2}"))
                .hasMessageContaining("'executors.gpus.slot': unknown field; did you mean 'slots'?")
                .hasMessageContaining("valid fields of a pool: hosts, slots, gpus_per_slot, port");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1], slots: 0}"))
                .hasMessageContaining("'executors.gpus.slots': expected a number of runs per host from 1 to 1024").hasMessageContaining("got 0");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1], slots: many}")).hasMessageContaining("'executors.gpus.slots'");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1], gpus_per_slot: 1.5}"))
                .hasMessageContaining("'executors.gpus.gpus_per_slot': expected a number of GPUs per run");
        // a default that is wrong is reported where it is written, not on a host
        assertThatThrownBy(() -> parse("{type: pool, hosts: [{host: h}], connect_timeout: soon}"))
                .hasMessageContaining("'executors.gpus.connect_timeout'");
        assertThatThrownBy(() -> parse("{type: pool, hosts: [gpu1], remote_dir: relative/dir}"))
                .hasMessageContaining("'executors.gpus.remote_dir': expected an absolute path");
        // a named host's own mistake names its own field
        assertThatThrownBy(() -> PoolExecutorConfig.fromOptions("gpus", YAML.readTree("{hosts: [bad]}"),
                executors("{bad: {type: ssh, host: h, prot: 2}}"))).hasMessageContaining("'executors.bad.prot'");
        // no executors known at all (a provider given no context)
        assertThatThrownBy(() -> PoolExecutorConfig.fromOptions("gpus", YAML.readTree("{hosts: [gpu1]}"), null))
                .hasMessageContaining("no executor named 'gpu1' is configured; no ssh executor is configured");
    }

    @Test
    void providerIsFoundByServiceLoaderAsTypePool() {
        assertThat(ServiceLoader.load(ExecutorProvider.class).stream().map(p -> p.get().type())).contains("ssh", "pool");
    }

    @Test
    void providerResolvesNamesAgainstTheContextAndConnectsNowhere() throws Exception {
        ExecutorSpec spec = new ExecutorSpec("gpus", "pool", YAML.readTree("{type: pool, hosts: [gpu1, {host: 10.0.0.9}]}"));
        ExecutorContext context = new ExecutorContext(tmp, tmp.resolve(".sortie"), null).withExecutors(executors(HOSTS));
        try (Executor e = new PoolExecutorProvider().create(spec, context)) {
            assertThat(e).isInstanceOf(PoolExecutor.class);
            assertThat(e.name()).isEqualTo("gpus");
            assertThat(e.type()).isEqualTo("pool");
            assertThat(((PoolExecutor) e).members()).extracting(Executor::name).containsExactly("gpu1", "gpus.hosts[1]");
        }
        assertThatThrownBy(() -> new PoolExecutorProvider().create(spec, null)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'executors.gpus.hosts[0]': no executor named 'gpu1'");
    }

    @Test
    void theRegistryGivesAPoolTheExecutorsOfEveryConfigFile() throws Exception {
        Path user = tmp.resolve("user.yaml");
        Files.writeString(user, "executors:\n  gpu1: {type: ssh, host: gpu1.example.org}\n");
        Path project = tmp.resolve("config.yaml");
        Files.writeString(project, "executors:\n  gpus:\n    type: pool\n    hosts: [gpu1, gpu2]\n    slots: 2\n"
                + "  gpu2: {type: ssh, host: gpu2.example.org}\n");
        try (ExecutorRegistry r = new ExecutorRegistry(new ExecutorContext(tmp, tmp.resolve(".sortie"), null), List.of(user, project))) {
            Executor pool = r.get("gpus");
            assertThat(pool).isInstanceOf(PoolExecutor.class);
            assertThat(((PoolExecutor) pool).members()).extracting(Executor::name).containsExactly("gpu1", "gpu2");
        }
        Files.writeString(project, "executors:\n  gpus: {type: pool, hosts: [gpu1, gpu3]}\n");
        try (ExecutorRegistry r = new ExecutorRegistry(new ExecutorContext(tmp, tmp.resolve(".sortie"), null), List.of(user, project))) {
            assertThatThrownBy(() -> r.get("gpus")).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("'executors.gpus.hosts[1]': no executor named 'gpu3' is configured; did you mean 'gpu1'?");
        }
    }
}
