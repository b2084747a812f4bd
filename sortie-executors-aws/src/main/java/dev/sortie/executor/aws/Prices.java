package dev.sortie.executor.aws;

import java.time.Instant;
import java.util.Map;

/**
 * What instance types cost in one region, in USD an hour, as fetched at {@code fetched}: on-demand (Linux, shared
 * tenancy, the Price List API) and spot (the latest of the spot price history, per availability zone).
 */
record Prices(String region, Instant fetched, Map<String, Double> onDemand, Map<String, Map<String, Double>> spot) {

    Prices {
        onDemand = Map.copyOf(onDemand);
        spot = Map.copyOf(spot);
    }

    /** The hourly price of a type: on-demand, or spot in {@code zone} (null zone: the cheapest zone's); null when unknown. */
    Double hourly(String type, boolean spot, String zone) {
        if (!spot) {
            return onDemand.get(type);
        }
        Map<String, Double> zones = this.spot.get(type);
        if (zones == null || zones.isEmpty()) {
            return null;
        }
        if (zone != null) {
            return zones.get(zone);
        }
        return zones.values().stream().min(Double::compare).orElse(null);
    }

    /** "$0.0416/h on-demand", "$0.0125/h spot", or "price unknown". */
    static String describe(Double hourly, boolean spot) {
        return hourly == null ? "price unknown" : usd(hourly) + "/h " + (spot ? "spot" : "on-demand");
    }

    static String usd(double v) {
        return "$" + new java.math.BigDecimal(v).round(new java.math.MathContext(v >= 1 ? 4 : 3)).stripTrailingZeros().toPlainString();
    }
}
