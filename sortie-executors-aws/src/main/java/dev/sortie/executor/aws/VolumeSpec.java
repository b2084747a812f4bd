package dev.sortie.executor.aws;

import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.Units;
import java.util.regex.Pattern;

/**
 * An aws executor's named volume, {@code volume: DATA[:SIZE]}: an EBS volume tagged with the owner, executor and
 * this name that holds the node-local cache from one instance to the next.
 *
 * @param name   what the volume is called (its {@value Tags#VOLUME} tag)
 * @param sizeGb its size in GiB when given; null: sized from the task's declared {@code data:} (at least 1 GiB)
 */
record VolumeSpec(String name, Integer sizeGb) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    /** gp3's largest volume. */
    static final int MAX_GB = 16384;

    /** Null for null; else the name and optional size of {@code DATA[:SIZE]}, every mistake naming {@code field}. */
    static VolumeSpec parse(String text, String field) {
        if (text == null) {
            return null;
        }
        int colon = text.indexOf(':');
        String name = colon < 0 ? text : text.substring(0, colon);
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(null, 0, field, "'" + name + "' is not a volume name: letters, digits, '_', '.', '-' (up to 64,"
                    + " starting with a letter or digit), optionally with a size, e.g. data or data:200G");
        }
        if (colon < 0) {
            return new VolumeSpec(name, null);
        }
        String size = text.substring(colon + 1).trim();
        long bytes;
        try {
            bytes = Units.size(size.matches("\\d+") ? size + "G" : size);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(null, 0, field, "expected the volume's size after the colon, e.g. " + name + ":200G (GiB), got '"
                    + size + "'");
        }
        long gb = (bytes + (1L << 30) - 1) >> 30;
        if (gb < 1 || gb > MAX_GB) {
            throw new ConfigException(null, 0, field, "expected a volume from 1G to 16T, got '" + size + "'");
        }
        return new VolumeSpec(name, (int) gb);
    }

    String describe() {
        return name + (sizeGb == null ? "" : " (" + sizeGb + " GiB)");
    }
}
