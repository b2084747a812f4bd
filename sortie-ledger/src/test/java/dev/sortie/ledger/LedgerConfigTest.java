package dev.sortie.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SORTIE_LEDGER, then the project's ledger:, then the user's; errors name the variable or file, line and field. */
class LedgerConfigTest {
    @TempDir
    Path dir;

    @Test
    void theEnvironmentWinsThenTheProjectThenTheUserAndLocalIsTheDefault() throws Exception {
        Path user = Files.writeString(dir.resolve("user.yaml"), "ledger: postgresql://me@team-db:5432/exp\n");
        Path project = dir.resolve("project.yaml");
        assertThat(LedgerConfig.read(Map.of(), List.of(user, project))).map(PostgresUrl::host).contains("team-db");

        Files.writeString(project, "executors: {}\nledger: local\n");
        assertThat(LedgerConfig.read(Map.of(), List.of(user, project))).as("the project's local wins").isEmpty();

        Files.writeString(project, "ledger: jdbc:postgresql://proj-db/exp?user=bob\n");
        assertThat(LedgerConfig.read(Map.of(), List.of(user, project))).map(PostgresUrl::host).contains("proj-db");
        assertThat(LedgerConfig.read(Map.of("SORTIE_LEDGER", "postgres://ci@env-db/exp"), List.of(user, project)))
                .map(PostgresUrl::host).contains("env-db");
        assertThat(LedgerConfig.read(Map.of("SORTIE_LEDGER", "local"), List.of(user, project))).isEmpty();
        assertThat(LedgerConfig.read(Map.of(), List.of(dir.resolve("missing.yaml")))).isEqualTo(Optional.empty());
    }

    @Test
    void aBadValueNamesWhereItIsAndWhatIsValidButNotThePassword() throws Exception {
        Path project = Files.writeString(dir.resolve("config.yaml"), "executors: {}\nledger: mysql://bob:hunter2@db/exp\n");
        assertThatThrownBy(() -> LedgerConfig.read(Map.of(), List.of(project)))
                .isInstanceOf(ConfigException.class)
                .hasMessage(project + ":2: 'ledger': 'mysql://' URLs are not a ledger; valid: local (the project's .sortie/ledger.db) or "
                        + "postgresql://USER@HOST:PORT/DATABASE");
        Files.writeString(project, "ledger: {url: x}\n");
        assertThatThrownBy(() -> LedgerConfig.read(Map.of(), List.of(project))).hasMessageContaining(":1: 'ledger': expected a URL, not a mapping");
        Files.writeString(project, "ledger: postgresql://bob:hunter2@db:0/exp\n");
        assertThatThrownBy(() -> LedgerConfig.read(Map.of(), List.of(project)))
                .hasMessage(project + ":1: 'ledger': bad PostgreSQL URL: the port '0' is not a number from 1 to 65535")
                .message().doesNotContain("hunter2");
        assertThatThrownBy(() -> LedgerConfig.read(Map.of("SORTIE_LEDGER", "postgresql://bob:hunter2@db"), List.of()))
                .hasMessage("SORTIE_LEDGER (environment): bad PostgreSQL URL: no database (expected postgresql://USER@HOST:PORT/DATABASE)");
        assertThatThrownBy(() -> LedgerConfig.read(Map.of("SORTIE_LEDGER", "ledger.db"), List.of()))
                .hasMessageContaining("'ledger.db' is not a ledger URL");
    }
}
