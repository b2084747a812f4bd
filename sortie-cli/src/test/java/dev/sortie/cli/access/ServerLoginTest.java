package dev.sortie.cli.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerLoginTest {
    @TempDir
    Path tmp;

    @Test
    void theEnvironmentWinsOverTheSavedLoginAndNoLoginIsTheLocalMode() throws Exception {
        CredentialsFile file = new CredentialsFile(tmp.resolve("cfg/sortie/credentials"));
        assertThat(ServerLogin.resolve(Map.of(), file)).isEmpty();

        file.write(new ServerLogin("http://saved:8080/", "saved-token"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.path()))).isEqualTo("rw-------");
        assertThat(ServerLogin.resolve(Map.of(), file)).contains(new ServerLogin("http://saved:8080", "saved-token"));
        assertThat(ServerLogin.resolve(Map.of("SORTIE_SERVER", "http://env:1", "SORTIE_TOKEN", "env-token"), file))
                .contains(new ServerLogin("http://env:1", "env-token"));
        assertThat(ServerLogin.resolve(Map.of("SORTIE_TOKEN", "env-token"), file)).contains(new ServerLogin("http://saved:8080", "env-token"));
        // the saved token goes only to the server it was saved for
        assertThat(ServerLogin.resolve(Map.of("SORTIE_SERVER", "http://saved:8080"), file)).contains(new ServerLogin("http://saved:8080", "saved-token"));
        assertThatThrownBy(() -> ServerLogin.resolve(Map.of("SORTIE_SERVER", "http://other:1"), file))
                .isInstanceOf(ConfigException.class).hasMessageContaining("SORTIE_TOKEN").hasMessageNotContaining("saved-token");
        assertThat(new ServerLogin("http://saved:8080", "saved-token").toString()).doesNotContain("saved-token");

        assertThat(CredentialsFile.of(Map.of("XDG_CONFIG_HOME", tmp.toString())).path()).isEqualTo(tmp.resolve("sortie/credentials"));
        assertThat(file.delete()).isTrue();
        assertThat(ServerLogin.resolve(Map.of(), file)).isEmpty();
    }
}
