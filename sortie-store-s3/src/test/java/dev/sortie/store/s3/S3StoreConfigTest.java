package dev.sortie.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.store.StoreConfig;
import dev.sortie.core.store.StoreSpec;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code store:} in the config files, read through the providers on the class path (this module's S3 one). */
class S3StoreConfigTest {
    @TempDir
    Path tmp;

    private Optional<StoreSpec> read(String yaml) throws Exception {
        Path f = tmp.resolve("config.yaml");
        Files.writeString(f, yaml);
        return StoreConfig.fromClassPath().read(List.of(f));
    }

    private ConfigException error(String yaml) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> read(yaml));
        assertThat(t).isInstanceOf(ConfigException.class);
        ConfigException e = (ConfigException) t;
        assertThat(e.file()).isEqualTo(tmp.resolve("config.yaml"));
        return e;
    }

    @Test
    void theShortAndTheMappingFormsGiveTheSameSettings() throws Exception {
        S3StoreSettings s = S3StoreSettings.from(read("store: s3://my-bucket/team/sortie\n").orElseThrow());
        assertThat(s.location()).isEqualTo(new S3Location("my-bucket", "team/sortie/"));
        assertThat(s.pathStyle()).isFalse();
        assertThat(s.endpoint()).isNull();

        S3StoreSettings m = S3StoreSettings.from(read("""
                executors: {}
                store:
                  url: s3://my-bucket
                  endpoint: http://127.0.0.1:9000
                  path_style: true
                  region: eu-west-1
                  part_size: 16M
                """).orElseThrow());
        assertThat(m.location()).isEqualTo(new S3Location("my-bucket", ""));
        assertThat(m.location().key("ab" + "c".repeat(62))).isEqualTo("sha256/ab/" + "c".repeat(62));
        assertThat(m.endpoint()).isEqualTo(URI.create("http://127.0.0.1:9000"));
        assertThat(m.pathStyle()).isTrue();
        assertThat(m.region()).isEqualTo("eu-west-1");
        assertThat(m.partSize()).isEqualTo(16L << 20);
    }

    @Test
    void noStoreOrLocalIsTheLocalDefault() throws Exception {
        assertThat(read("executors: {}\n")).isEmpty();
        assertThat(read("store: local\n")).isEmpty();
        assertThat(StoreConfig.fromClassPath().read(List.of(tmp.resolve("missing.yaml")))).isEmpty();
    }

    @Test
    void theProjectsFileWinsOverTheUsers() throws Exception {
        Path user = Files.writeString(tmp.resolve("user.yaml"), "store: s3://user-bucket/x\n");
        Path project = Files.writeString(tmp.resolve("project.yaml"), "store: local\n");
        assertThat(StoreConfig.fromClassPath().read(List.of(user, project))).isEmpty();
        assertThat(StoreConfig.fromClassPath().read(List.of(project, user)).orElseThrow().url()).isEqualTo("s3://user-bucket/x");
    }

    @Test
    void badStoresAreConfigErrorsNamingTheLineAndTheField() {
        ConfigException noBucket = error("executors: {}\nstore: s3:///sortie\n");
        assertThat(noBucket.line()).isEqualTo(2);
        assertThat(noBucket.field()).isEqualTo("store");
        assertThat(noBucket.getMessage()).contains("names no bucket").contains("s3://BUCKET/PREFIX");

        ConfigException badBucket = error("store:\n  url: s3://My_Bucket/x\n");
        assertThat(badBucket.field()).isEqualTo("store.url");
        assertThat(badBucket.line()).isEqualTo(2);
        assertThat(badBucket.getMessage()).contains("'My_Bucket' is not a valid bucket name");

        assertThat(error("store: gs://bucket/x\n").getMessage()).contains("no store for 'gs://' URLs").contains("s3://BUCKET/PREFIX");
        assertThat(error("store: /data/store\n").getMessage()).contains("is not a store URL");
        assertThat(error("store: [s3://a/b]\n").getMessage()).contains("not a list");
        assertThat(error("store: {path_style: true}\n").getMessage()).contains("needs 'url:'");

        ConfigException typo = error("store:\n  url: s3://bucket/x\n  pathstyle: true\n");
        assertThat(typo.field()).isEqualTo("store.pathstyle");
        assertThat(typo.line()).isEqualTo(3);
        assertThat(typo.getMessage()).contains("did you mean 'path_style'");

        ConfigException notBool = error("store:\n  url: s3://bucket/x\n  path_style: yes please\n");
        assertThat(notBool.field()).isEqualTo("store.path_style");
        assertThat(notBool.getMessage()).contains("expected true or false");

        assertThat(error("store: {url: s3://bucket/x, endpoint: 'ftp://h'}\n").getMessage()).contains("not an http(s) URL");
        assertThat(error("store: {url: s3://bucket/x, endpoint: 'http://key:secret@h:9000'}\n").getMessage())
                .contains("must not carry credentials").doesNotContain("secret@");
        assertThat(error("store: {url: s3://bucket/x, part_size: 1M}\n").getMessage()).contains("5M to 5G");
        assertThat(error("store: {url: local, region: x}\n").getMessage()).contains("takes no settings");
    }
}
