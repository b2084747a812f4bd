package dev.sortie.executor.aws;

import dev.sortie.core.config.Resources;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Which instance type a launch asks for: the executor's explicit {@code instance_type}, else the cheapest type of the
 * region that fits the task's {@code resources:} (GPUs and their model, vCPUs, memory) at the market it launches on
 * (spot: the spot price in the zone, or the cheapest zone's; on-demand: the Price List's). Only x86_64 types are
 * candidates (the image and the user's wheels are x86 ones unless the executor names an arm type), and only priced
 * ones: a type without a price cannot be ranked. Disk does not choose a type: it sizes the root volume.
 */
final class InstanceChooser {

    /** A type that fits and what it costs an hour. */
    record Candidate(AwsCloud.TypeInfo type, double hourly) {
    }

    private InstanceChooser() {
    }

    /** Whether a type has what the task asks. */
    static boolean fits(AwsCloud.TypeInfo t, Resources r) {
        if (r == null) {
            return true;
        }
        if (r.gpus() != null) {
            if (r.gpus() == 0 && t.gpus() > 0) {
                return false;
            }
            if (t.gpus() < r.gpus()) {
                return false;
            }
            if (r.gpuModel() != null && r.gpus() > 0 && (t.gpuModel() == null
                    || !t.gpuModel().toLowerCase(Locale.ROOT).contains(r.gpuModel().toLowerCase(Locale.ROOT)))) {
                return false;
            }
        }
        if (r.cpus() != null && t.vcpus() < Math.ceil(r.cpus())) {
            return false;
        }
        return r.memoryBytes() == null || (t.memoryMib() << 20) >= r.memoryBytes();
    }

    /** The types that fit and have a price, cheapest first (then fewer vCPUs, then by name). */
    static List<Candidate> rank(List<AwsCloud.TypeInfo> types, Prices prices, Resources r, boolean spot, String zone) {
        List<Candidate> out = new ArrayList<>();
        for (AwsCloud.TypeInfo t : types) {
            if (!"x86_64".equals(t.arch()) || !fits(t, r)) {
                continue;
            }
            Double p = prices.hourly(t.name(), spot, zone);
            if (p != null) {
                out.add(new Candidate(t, p));
            }
        }
        out.sort(Comparator.comparingDouble(Candidate::hourly).thenComparingInt(c -> c.type().vcpus()).thenComparing(c -> c.type().name()));
        return out;
    }

    /** "gpus: 1 x A10G, cpus: 4, memory: 16G" (what was asked), or "nothing in particular". */
    static String describe(Resources r) {
        if (r == null) {
            return "nothing in particular";
        }
        List<String> parts = new ArrayList<>();
        if (r.gpus() != null) {
            parts.add("gpus: " + r.gpus() + (r.gpuModel() == null ? "" : " x " + r.gpuModel()));
        }
        if (r.cpus() != null) {
            parts.add("cpus: " + (r.cpus() == Math.floor(r.cpus()) ? String.valueOf(r.cpus().longValue()) : r.cpus().toString()));
        }
        if (r.memoryBytes() != null) {
            parts.add("memory: " + dev.sortie.core.config.Units.human(r.memoryBytes()));
        }
        return parts.isEmpty() ? "nothing in particular" : String.join(", ", parts);
    }
}
