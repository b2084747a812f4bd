package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sortie.core.config.ConfigException;
import org.junit.jupiter.api.Test;

class FallbackTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Test
    void configEntriesAndCommandLineEntriesReadAlike() throws Exception {
        var fromConfig = Fallback.parse(YAML.readTree("[{zone: us-east-1b}, {instance_type: g5.2xlarge}, {on_demand: true},"
                + " {zone: us-east-1c, on_demand: true}]"), "executors.gpu.fallback");
        var fromCli = Fallback.parse(YAML.readTree("[zone:us-east-1b, type:g5.2xlarge, on-demand, zone:us-east-1c+on-demand]"),
                "executors.gpu.fallback");
        assertThat(fromCli).isEqualTo(fromConfig).containsExactly(new Fallback("us-east-1b", null, false),
                new Fallback(null, "g5.2xlarge", false), new Fallback(null, null, true), new Fallback("us-east-1c", null, true));
        assertThat(fromConfig.get(3).describe()).isEqualTo("zone us-east-1c, on-demand");
    }

    @Test
    void mistakesNameTheEntryAndWhatIsValid() {
        assertThatThrownBy(() -> Fallback.parse(YAML.readTree("[{zone: us-east-1}]"), "executors.gpu.fallback"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("executors.gpu.fallback[0].zone")
                .hasMessageContaining("not an availability zone");
        assertThatThrownBy(() -> Fallback.parse(YAML.readTree("[spot]"), "executors.gpu.fallback"))
                .hasMessageContaining("executors.gpu.fallback[0]").hasMessageContaining("zone:us-east-1b");
        assertThatThrownBy(() -> Fallback.parse(YAML.readTree("[{region: x}]"), "f")).hasMessageContaining("f[0].region");
    }
}
