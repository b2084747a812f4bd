package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.config.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The cheapest type that fits, from the Price List fixture (AWS's GetProducts format) and a few spot prices. */
class InstanceChooserTest {
    static final List<AwsCloud.TypeInfo> TYPES = List.of(
            new AwsCloud.TypeInfo("t3.micro", 2, 1024, 0, null, "x86_64"),
            new AwsCloud.TypeInfo("t3.medium", 2, 4096, 0, null, "x86_64"),
            new AwsCloud.TypeInfo("t4g.medium", 2, 4096, 0, null, "arm64"),
            new AwsCloud.TypeInfo("c5.large", 2, 4096, 0, null, "x86_64"),
            new AwsCloud.TypeInfo("m5.xlarge", 4, 16384, 0, null, "x86_64"),
            new AwsCloud.TypeInfo("c5.xlarge", 4, 8192, 0, null, "x86_64"),
            new AwsCloud.TypeInfo("g4dn.xlarge", 4, 16384, 1, "NVIDIA T4", "x86_64"),
            new AwsCloud.TypeInfo("g5.xlarge", 4, 16384, 1, "NVIDIA A10G", "x86_64"),
            new AwsCloud.TypeInfo("g5.2xlarge", 8, 32768, 1, "NVIDIA A10G", "x86_64"),
            new AwsCloud.TypeInfo("p3.2xlarge", 8, 62464, 1, "NVIDIA V100", "x86_64"),
            new AwsCloud.TypeInfo("x9.unpriced", 64, 1 << 20, 0, null, "x86_64"));

    static Prices fixturePrices(Map<String, Map<String, Double>> spot) throws Exception {
        Map<String, Double> onDemand = new HashMap<>();
        var page = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readString(
                Path.of(InstanceChooserTest.class.getResource("/aws-pricing/us-east-1-get-products.json").toURI())));
        for (var p : page.get("PriceList")) {
            PriceList.parseProduct(p.asText(), "us-east-1").ifPresent(e -> onDemand.put(e.getKey(), e.getValue()));
        }
        return new Prices("us-east-1", Instant.now(), onDemand, spot);
    }

    @Test
    void priceListProductsGiveLinuxSharedUsedHourlyPricesOnly() throws Exception {
        Prices p = fixturePrices(Map.of());
        assertThat(p.onDemand()).containsEntry("t3.micro", 0.0104).containsEntry("g5.xlarge", 1.006)
                .doesNotContainKeys("t3.nano", "t2.nano"); // Windows, an unused capacity reservation
    }

    @Test
    void cheapestOnDemandTypeThatFitsCpusAndMemory() throws Exception {
        var ranked = InstanceChooser.rank(TYPES, fixturePrices(Map.of()), new Resources(null, 2.0, 4L << 30, null, false), false, null);
        assertThat(ranked).extracting(c -> c.type().name()).startsWith("t3.medium", "c5.large")
                .doesNotContain("t3.micro", "t4g.medium", "x9.unpriced"); // too small; arm; no price
        assertThat(ranked.get(0).hourly()).isEqualTo(0.0416);
    }

    @Test
    void gpusAndTheirModelChooseAmongGpuTypes() throws Exception {
        Prices p = fixturePrices(Map.of());
        assertThat(InstanceChooser.rank(TYPES, p, new Resources(1, null, null, null, false), false, null).get(0).type().name())
                .isEqualTo("g4dn.xlarge");
        assertThat(InstanceChooser.rank(TYPES, p, new Resources(1, null, null, null, false, "a10g"), false, null).get(0).type().name())
                .isEqualTo("g5.xlarge");
        assertThat(InstanceChooser.rank(TYPES, p, new Resources(1, 8.0, null, null, false, "A10G"), false, null).get(0).type().name())
                .isEqualTo("g5.2xlarge");
        assertThat(InstanceChooser.rank(TYPES, p, new Resources(1, null, null, null, false, "H100"), false, null)).isEmpty();
        assertThat(InstanceChooser.rank(TYPES, p, new Resources(0, 4.0, null, null, false), false, null))
                .noneMatch(c -> c.type().gpus() > 0);
    }

    @Test
    void spotRanksBySpotPriceInTheZoneOrTheCheapestZone() throws Exception {
        Prices p = fixturePrices(Map.of(
                "t3.medium", Map.of("us-east-1a", 0.02, "us-east-1b", 0.013),
                "c5.large", Map.of("us-east-1a", 0.015, "us-east-1b", 0.03)));
        Resources r = new Resources(null, 2.0, 4L << 30, null, true);
        assertThat(InstanceChooser.rank(TYPES, p, r, true, null)).extracting(c -> c.type().name()).containsExactly("t3.medium", "c5.large");
        assertThat(InstanceChooser.rank(TYPES, p, r, true, "us-east-1a").get(0).type().name()).isEqualTo("c5.large");
        assertThat(p.hourly("t3.medium", true, null)).isEqualTo(0.013);
        assertThat(p.hourly("m5.xlarge", true, null)).as("no spot price: not offered").isNull();
    }

    @Test
    void pricesAreSaidForPeople() {
        assertThat(Prices.describe(0.0416, false)).isEqualTo("$0.0416/h on-demand");
        assertThat(Prices.describe(1.006, true)).isEqualTo("$1.006/h spot");
        assertThat(Prices.describe(null, true)).isEqualTo("price unknown");
        assertThat(CostListener.cost(0.36, java.time.Duration.ofMinutes(10))).isEqualTo(0.06, org.assertj.core.data.Offset.offset(1e-9));
    }
}
