package dev.sortie.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.YamlDocument;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The {@code store:} setting of the user's config and the project's {@code .sortie/config.yaml} (the later file wins):
 * absent or {@code local}, the project's own folder {@code .sortie/store}; otherwise a URL whose scheme a
 * {@link BlobStoreProvider} on the class path handles, in its short form ({@code store: s3://bucket/prefix}) or as a
 * mapping ({@code store: {url: s3://bucket/prefix, path_style: true}}).
 */
public final class StoreConfig {
    public static final String FIELD = "store";
    public static final String LOCAL = "local";

    private final Map<String, BlobStoreProvider> providers;

    public StoreConfig(List<BlobStoreProvider> providers) {
        this.providers = new LinkedHashMap<>();
        for (BlobStoreProvider p : providers) {
            this.providers.put(p.scheme(), p);
        }
    }

    /** With the providers on the class path. */
    public static StoreConfig fromClassPath() {
        List<BlobStoreProvider> found = new ArrayList<>();
        ServiceLoader.load(BlobStoreProvider.class, StoreConfig.class.getClassLoader()).forEach(found::add);
        return new StoreConfig(found);
    }

    /**
     * The store the files configure, checked (ConfigException naming file, line and field), or empty for the local
     * default. Files that do not exist are skipped.
     */
    public Optional<StoreSpec> read(List<Path> files) {
        Optional<StoreSpec> spec = Optional.empty();
        boolean set = false;
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                continue;
            }
            YamlDocument doc = YamlDocument.read(f);
            JsonNode root = doc.root();
            if (!root.isObject() || !root.has(FIELD)) {
                continue; // the executors' reader reports a file that is not a mapping
            }
            spec = parse(doc, root.get(FIELD));
            set = true;
        }
        return set ? spec : Optional.empty();
    }

    /** The provider of a spec's scheme (the spec was checked by {@link #read}). */
    public BlobStoreProvider provider(StoreSpec spec) {
        BlobStoreProvider p = providers.get(spec.scheme());
        if (p == null) {
            throw spec.error("", unknownScheme(spec.url()));
        }
        return p;
    }

    private Optional<StoreSpec> parse(YamlDocument doc, JsonNode node) {
        String url;
        JsonNode options;
        if (node.isTextual()) {
            url = node.asText().trim();
            options = JsonNodeFactory.instance.objectNode();
        } else if (node.isObject()) {
            JsonNode u = node.get("url");
            if (u == null || !u.isTextual() || u.asText().isBlank()) {
                throw doc.error(FIELD + (u == null ? "" : ".url"), "needs 'url:' with the store's URL, e.g. store: {url: s3://my-bucket/sortie, path_style: true}");
            }
            url = u.asText().trim();
            ObjectNode rest = ((ObjectNode) node).deepCopy();
            rest.remove("url");
            options = rest;
        } else if (node.isNull()) {
            return Optional.empty();
        } else {
            throw doc.error(FIELD, "expected a URL (store: s3://my-bucket/sortie) or a mapping with 'url:', not " + YamlDocument.typeName(node));
        }
        if (url.isEmpty() || url.equals(LOCAL)) {
            if (options.size() > 0) {
                throw doc.error(FIELD + "." + options.fieldNames().next(), "the local store takes no settings");
            }
            return Optional.empty();
        }
        StoreSpec spec = new StoreSpec(url, options, doc, FIELD);
        BlobStoreProvider p = providers.get(spec.scheme());
        if (p == null) {
            throw doc.error(node.isObject() ? FIELD + ".url" : FIELD, unknownScheme(url));
        }
        List<String> allowed = new ArrayList<>(List.of("url"));
        allowed.addAll(p.options());
        if (node.isObject()) {
            doc.requireKnownFields(node, FIELD, allowed);
        }
        p.validate(spec);
        return Optional.of(spec);
    }

    private String unknownScheme(String url) {
        List<String> valid = new ArrayList<>();
        valid.add(LOCAL);
        for (String s : providers.keySet()) {
            valid.add(s + "://BUCKET/PREFIX");
        }
        String scheme = new StoreSpec(url, null, null, FIELD).scheme();
        String what = scheme.isEmpty() ? "'" + url + "' is not a store URL" : "no store for '" + scheme + "://' URLs"
                + (scheme.equals("s3") ? " (the S3 store, sortie-store-s3, is not installed)" : "");
        return what + "; valid: " + String.join(", ", valid);
    }
}
