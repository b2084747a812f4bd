package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sortie.core.config.ConfigException;
import org.junit.jupiter.api.Test;

/** An aws executor's {@code volume: NAME[:SIZE]}, validated with the executor's other options. */
class VolumeSpecTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static AwsExecutorConfig config(String yaml) throws Exception {
        return AwsExecutorConfig.fromOptions("gpu", YAML.readTree("{type: aws, region: us-east-1, " + yaml + "}"));
    }

    @Test
    void aNameAloneOrWithASizeInGiB() throws Exception {
        assertThat(config("instance_type: t3.micro").volume()).isNull();
        assertThat(config("volume: data").volume()).isEqualTo(new VolumeSpec("data", null));
        assertThat(config("volume: 'imagenet-1k:500G'").volume()).isEqualTo(new VolumeSpec("imagenet-1k", 500));
        assertThat(config("volume: 'cache:20'").volume()).isEqualTo(new VolumeSpec("cache", 20));
        assertThat(config("volume: 'cache:1.5T'").volume()).isEqualTo(new VolumeSpec("cache", 1536));
        assertThat(config("volume: 'c:100M'").volume()).as("rounded up to a whole GiB").isEqualTo(new VolumeSpec("c", 1));
    }

    @Test
    void mistakesNameTheFieldAndWhatIsValid() {
        assertThatThrownBy(() -> config("volume: 'my data'")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("executors.gpu.volume").hasMessageContaining("'my data' is not a volume name")
                .hasMessageContaining("data:200G");
        assertThatThrownBy(() -> config("volume: 'data:lots'")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("executors.gpu.volume").hasMessageContaining("e.g. data:200G").hasMessageContaining("'lots'");
        assertThatThrownBy(() -> config("volume: 'data:0'")).hasMessageContaining("executors.gpu.volume")
                .hasMessageContaining("from 1G to 16T");
        assertThatThrownBy(() -> config("volume: 'data:17T'")).hasMessageContaining("from 1G to 16T");
        assertThatThrownBy(() -> config("volume: ':20G'")).hasMessageContaining("executors.gpu.volume");
        assertThatThrownBy(() -> config("volumes: data")).hasMessageContaining("executors.gpu.volumes")
                .hasMessageContaining("did you mean 'volume'");
    }
}
