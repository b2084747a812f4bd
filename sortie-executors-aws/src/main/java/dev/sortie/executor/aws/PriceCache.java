package dev.sortie.executor.aws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * A region's prices kept on disk with the date they were fetched ({@code ~/.cache/sortie/aws-prices/REGION.json},
 * or under {@code $XDG_CACHE_HOME}), fetched again once older than {@code maxAge} (a day): the Price List API
 * answers in megabytes and prices change seldom. A file that cannot be read is fetched again; a fetch that fails
 * while an older file exists uses the older file, said in the log.
 */
final class PriceCache {
    private static final System.Logger LOG = System.getLogger(PriceCache.class.getName());
    static final Duration MAX_AGE = Duration.ofDays(1);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;
    private final Duration maxAge;
    private final Clock clock;

    /** How a region's prices are fetched when the file is missing or old. */
    interface Fetcher {
        Prices fetch(String region) throws IOException;
    }

    PriceCache(Path dir, Duration maxAge, Clock clock) {
        this.dir = dir;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    /** The user's cache: $XDG_CACHE_HOME/sortie/aws-prices, else ~/.cache/sortie/aws-prices. */
    static PriceCache user() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path root = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new PriceCache(root.resolve("sortie").resolve("aws-prices"), MAX_AGE, Clock.systemUTC());
    }

    Path file(String region) {
        return dir.resolve(region + ".json");
    }

    /** The region's prices: the file's when it is younger than maxAge, else fetched (and written). */
    synchronized Prices get(String region, Fetcher fetcher) throws IOException {
        Prices cached = read(region);
        if (cached != null && cached.fetched().plus(maxAge).isAfter(clock.instant())) {
            return cached;
        }
        Prices fresh;
        try {
            fresh = fetcher.fetch(region);
        } catch (IOException e) {
            if (cached != null) {
                LOG.log(System.Logger.Level.WARNING, "cannot refresh the prices of {0} ({1}); using those of {2}", region, e.getMessage(),
                        cached.fetched());
                return cached;
            }
            throw e;
        }
        if (fresh.onDemand().isEmpty()) {
            return fresh; // the Price List listed nothing (an endpoint that is not AWS's): not worth a day in the cache
        }
        write(fresh);
        return fresh;
    }

    Prices read(String region) {
        Path f = file(region);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(f.toFile());
            Map<String, Double> onDemand = new HashMap<>();
            n.get("on_demand").fields().forEachRemaining(e -> onDemand.put(e.getKey(), e.getValue().asDouble()));
            Map<String, Map<String, Double>> spot = new HashMap<>();
            n.get("spot").fields().forEachRemaining(e -> {
                Map<String, Double> zones = new HashMap<>();
                e.getValue().fields().forEachRemaining(z -> zones.put(z.getKey(), z.getValue().asDouble()));
                spot.put(e.getKey(), zones);
            });
            return new Prices(n.get("region").asText(), Instant.parse(n.get("fetched").asText()), onDemand, spot);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "ignoring the price cache {0}: {1}", f, e.toString());
            return null;
        }
    }

    private void write(Prices p) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("region", p.region());
        n.put("fetched", p.fetched().toString());
        ObjectNode od = n.putObject("on_demand");
        new java.util.TreeMap<>(p.onDemand()).forEach(od::put);
        ObjectNode spot = n.putObject("spot");
        new java.util.TreeMap<>(p.spot()).forEach((t, zones) -> {
            ObjectNode z = spot.putObject(t);
            new java.util.TreeMap<>(zones).forEach(z::put);
        });
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, p.region(), ".tmp");
        try {
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), n);
            Files.move(tmp, file(p.region()), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
