package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A region's prices on disk with their date: read while younger than a day, fetched again after. */
class PriceCacheTest {
    @TempDir
    Path dir;
    final AtomicInteger fetches = new AtomicInteger();

    Prices fetched(Instant at) {
        fetches.incrementAndGet();
        return new Prices("eu-west-1", at, Map.of("t3.micro", 0.0114), Map.of("t3.micro", Map.of("eu-west-1a", 0.004)));
    }

    PriceCache at(Instant now) {
        return new PriceCache(dir, PriceCache.MAX_AGE, Clock.fixed(now, ZoneOffset.UTC));
    }

    @Test
    void fetchedOnceThenReadFromDiskUntilADayOld() throws Exception {
        Instant t0 = Instant.parse("2026-12-01T10:00:00Z");
        Prices first = at(t0).get("eu-west-1", r -> fetched(t0));
        assertThat(fetches).hasValue(1);
        assertThat(dir.resolve("eu-west-1.json")).exists();
        assertThat(Files.readString(dir.resolve("eu-west-1.json"))).contains("\"fetched\" : \"2026-12-01T10:00:00Z\"");

        Prices again = at(t0.plus(Duration.ofHours(23))).get("eu-west-1", r -> fetched(Instant.now()));
        assertThat(fetches).as("a new process reads the file").hasValue(1);
        assertThat(again).isEqualTo(first);
        assertThat(again.hourly("t3.micro", true, "eu-west-1a")).isEqualTo(0.004);

        Instant later = t0.plus(Duration.ofHours(25));
        Prices fresh = at(later).get("eu-west-1", r -> fetched(later));
        assertThat(fetches).as("a day old: fetched again").hasValue(2);
        assertThat(fresh.fetched()).isEqualTo(later);
    }

    @Test
    void aCorruptFileIsFetchedAgainAndAFailedRefreshUsesTheOldFile() throws Exception {
        Files.writeString(dir.resolve("eu-west-1.json"), "{not json");
        Instant t0 = Instant.parse("2026-12-01T10:00:00Z");
        at(t0).get("eu-west-1", r -> fetched(t0));
        assertThat(fetches).hasValue(1);

        Prices stale = at(t0.plus(Duration.ofDays(3))).get("eu-west-1", r -> {
            throw new IOException("the Price List API does not answer");
        });
        assertThat(stale.fetched()).isEqualTo(t0);
        assertThatThrownBy(() -> at(t0).get("us-west-2", r -> {
            throw new IOException("the Price List API does not answer");
        })).hasMessageContaining("does not answer");
    }
}
