package dev.sortie.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.YamlDocument;
import java.util.Locale;

/**
 * The {@code store:} a config file names: its URL ({@code s3://bucket/prefix}), the other settings of its mapping
 * form ({@code store: {url: s3://bucket/prefix, path_style: true}}; an empty object for the short form), and where it
 * was written, so a provider's errors name the file, the line and the field.
 */
public record StoreSpec(String url, JsonNode options, YamlDocument source, String field) {

    /** The URL's scheme in lower case ({@code s3}), or "" for a URL without one. */
    public String scheme() {
        int i = url.indexOf("://");
        return i <= 0 ? "" : url.substring(0, i).toLowerCase(Locale.ROOT);
    }

    /** An error about {@code option} of this store ("" or null: the store setting itself), at its line. */
    public ConfigException error(String option, String message) {
        String path = option == null || option.isEmpty() ? field : field + "." + option;
        return source == null ? new ConfigException(null, 0, path, message) : source.error(path, message);
    }
}
