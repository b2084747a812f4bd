package dev.sortie.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The tests' PostgreSQL server lives no longer than the JVM that started it: a test JVM killed mid-run (SIGKILL, no
 * shutdown hook, no JUnit close) left its postmaster running for good before pg.sh serve.
 */
@Tag("integration")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PostgresServerLifetimeTest {
    @Test
    void aServerDiesWithTheJvmThatStartedItWhenThatJvmIsKilled() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                PostgresServerChild.class.getName())).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(line).as("what the child JVM said").isNotNull();
            if (line.startsWith("failed ")) {
                String why = "PostgreSQL could not start for the tests: " + line.substring(7);
                if (System.getenv("CI") != null) {
                    throw new IllegalStateException(why);
                }
                Assumptions.abort(why);
            }
            String[] words = line.split(" ", 3);
            assertThat(words[0]).isEqualTo("started");
            long postmaster = Long.parseLong(words[1]);
            Path cluster = Path.of(words[2]);
            assertThat(ProcessHandle.of(postmaster)).as("the postmaster").isPresent();

            child.destroyForcibly(); // SIGKILL: nothing of the JVM's own runs
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> ProcessHandle.of(postmaster).map(h -> !h.isAlive()).orElse(true));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> !Files.exists(cluster));
        } finally {
            child.destroyForcibly();
        }
    }
}
