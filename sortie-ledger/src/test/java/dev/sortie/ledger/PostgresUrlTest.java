package dev.sortie.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The ledger URL's forms, what each part becomes, and errors that say what would be valid and never the password. */
class PostgresUrlTest {
    @Test
    void readsTheLibpqAndTheJdbcForms() {
        PostgresUrl u = PostgresUrl.parse("postgresql://alice@db.example:6543/experiments?sslmode=require");
        assertThat(u).isEqualTo(new PostgresUrl("db.example", 6543, "experiments", "alice", null, Map.of("sslmode", "require")));
        assertThat(u.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example:6543/experiments?sslmode=require");

        assertThat(PostgresUrl.parse("postgres://alice@db.example/experiments"))
                .isEqualTo(new PostgresUrl("db.example", 5432, "experiments", "alice", null, Map.of()));
        assertThat(PostgresUrl.parse("jdbc:postgresql://db.example:5433/exp?user=bob&password=p%40ss&ssl=true"))
                .isEqualTo(new PostgresUrl("db.example", 5433, "exp", "bob", "p@ss", Map.of("ssl", "true")));
        assertThat(PostgresUrl.parse("postgresql://bob:a%3Ab%40c%2Fd@[::1]:5432/exp"))
                .isEqualTo(new PostgresUrl("::1", 5432, "exp", "bob", "a:b@c/d", Map.of()));
        // an '@' left unescaped in the password: the last '@' ends it
        assertThat(PostgresUrl.parse("postgresql://bob:x@y@host/exp").password()).isEqualTo("x@y");
        assertThat(PostgresUrl.isPostgres(" postgresql://x")).isTrue();
        assertThat(PostgresUrl.isPostgres("/home/me/ledger.db")).isFalse();
    }

    @Test
    void thePasswordIsNeverShown() {
        PostgresUrl u = PostgresUrl.parse("postgresql://bob:s3cr%2Bt@host:5432/exp");
        assertThat(u.password()).isEqualTo("s3cr+t");
        assertThat(u.toString()).isEqualTo("postgresql://bob@host:5432/exp").isEqualTo(u.redacted());
        assertThat(u.jdbcUrl()).doesNotContain("s3cr");
        assertThatThrownBy(() -> PostgresUrl.parse("postgresql://bob:s3cr%zz@host/exp"))
                .hasMessage("the password has a malformed %-escape");
    }

    @Test
    void errorsSayWhatIsMissingAndTheValidForm() {
        assertThatThrownBy(() -> PostgresUrl.parse("postgresql://host/exp")).hasMessage("no user (expected postgresql://USER@HOST:PORT/DATABASE)");
        assertThatThrownBy(() -> PostgresUrl.parse("postgresql://bob@host")).hasMessage("no database (expected postgresql://USER@HOST:PORT/DATABASE)");
        assertThatThrownBy(() -> PostgresUrl.parse("postgresql://bob@/exp")).hasMessageStartingWith("no host");
        assertThatThrownBy(() -> PostgresUrl.parse("postgresql://bob@host:99999/exp")).hasMessage("the port '99999' is not a number from 1 to 65535");
        assertThatThrownBy(() -> PostgresUrl.parse("postgresql://bob@h1,h2/exp")).hasMessageStartingWith("several hosts are not supported");
        assertThatThrownBy(() -> PostgresUrl.parse("jdbc:postgresql://bob@host/exp")).hasMessageContaining("?user=USER");
        assertThatThrownBy(() -> PostgresUrl.parse("mysql://bob@host/exp")).hasMessageContaining("not a PostgreSQL URL");
    }
}
