package dev.sortie.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sortie.core.config.ConfigException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LedgerLocationTest {
    @Test
    void noDbIsTheFoldersSqliteFileAPathOrSqliteUrlIsAFileAndPostgresIsAUrlWhosePasswordIsNeverShown() {
        Path dflt = Path.of("/srv/sortie/.sortie/ledger.db");
        assertThat(LedgerLocation.parse(null, dflt).sqliteFile()).isEqualTo(dflt);
        assertThat(LedgerLocation.parse("sqlite:/tmp/x.db", dflt).sqliteFile()).isEqualTo(Path.of("/tmp/x.db"));
        assertThat(LedgerLocation.parse("/tmp/y.db", dflt).sqliteFile()).isEqualTo(Path.of("/tmp/y.db"));
        LedgerLocation pg = LedgerLocation.parse("postgresql://sortie:s3cret@db.example.com:5432/sortie?password=other", dflt);
        assertThat(pg.postgres()).isTrue();
        assertThat(pg.describe()).doesNotContain("s3cret").doesNotContain("other").contains("db.example.com");
        // a URL PostgreSQL cannot take is refused before any connection, naming --db and never the password
        assertThatThrownBy(() -> LedgerLocation.parse("postgresql://sortie:s3cret@db.example.com:notaport/sortie", dflt).open())
                .isInstanceOf(ConfigException.class).hasMessageContaining("--db").hasMessageNotContaining("s3cret");
        assertThatThrownBy(() -> LedgerLocation.parse("mysql://u:pw@h/db", dflt)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("postgresql://").hasMessageNotContaining("pw@");
    }
}
