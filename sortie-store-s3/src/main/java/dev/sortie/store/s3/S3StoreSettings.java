package dev.sortie.store.s3;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.Units;
import dev.sortie.core.store.StoreSpec;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;

/**
 * The S3 store's settings, checked: the bucket and prefix, and optionally the endpoint (else the SDK's own:
 * {@code AWS_ENDPOINT_URL}, a profile's {@code endpoint_url}, or AWS), the region (else the SDK's environment and
 * profile, else us-east-1), path-style addressing (S3-compatible servers and emulators often need it) and the part
 * size of multipart uploads. No SDK class here: every command checks the config, few open the store.
 */
public record S3StoreSettings(S3Location location, URI endpoint, String region, boolean pathStyle, long partSize) {
    /** S3's smallest part (but the last). */
    public static final long MIN_PART_SIZE = 5L << 20;
    /** S3's largest part. */
    public static final long MAX_PART_SIZE = 5L << 30;
    public static final long DEFAULT_PART_SIZE = 8L << 20;
    public static final List<String> OPTIONS = List.of("endpoint", "region", "path_style", "part_size");

    public S3StoreSettings {
        if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
            throw new IllegalArgumentException("part size " + partSize + " is outside S3's 5 MiB to 5 GiB");
        }
    }

    /** Settings for a bucket and prefix, everything else the SDK's defaults. */
    public static S3StoreSettings of(String url) {
        return new S3StoreSettings(S3Location.parse(url), null, null, false, DEFAULT_PART_SIZE);
    }

    public S3StoreSettings withEndpoint(URI endpoint, boolean pathStyle) {
        return new S3StoreSettings(location, endpoint, region, pathStyle, partSize);
    }

    public S3StoreSettings withPartSize(long partSize) {
        return new S3StoreSettings(location, endpoint, region, pathStyle, partSize);
    }

    /** Reads and checks a {@code store:} spec; ConfigException naming the file, line and field. */
    public static S3StoreSettings from(StoreSpec spec) {
        S3Location location;
        try {
            location = S3Location.parse(spec.url());
        } catch (IllegalArgumentException e) {
            throw spec.error(isMapping(spec) ? "url" : "", e.getMessage());
        }
        JsonNode o = spec.options();
        URI endpoint = null;
        JsonNode e = o.get("endpoint");
        if (e != null && !e.isNull()) {
            if (!e.isTextual()) {
                throw spec.error("endpoint", "expected a URL such as http://127.0.0.1:9000 or https://s3.example.com");
            }
            endpoint = endpoint(spec, e.asText().trim());
        }
        String region = null;
        JsonNode r = o.get("region");
        if (r != null && !r.isNull()) {
            if (!r.isTextual() || !r.asText().matches("[a-z0-9-]{2,40}")) {
                throw spec.error("region", "expected a region name such as us-east-1");
            }
            region = r.asText();
        }
        boolean pathStyle = false;
        JsonNode p = o.get("path_style");
        if (p != null && !p.isNull()) {
            if (!p.isBoolean()) {
                throw spec.error("path_style", "expected true or false, not " + dev.sortie.core.config.YamlDocument.typeName(p));
            }
            pathStyle = p.asBoolean();
        }
        long partSize = DEFAULT_PART_SIZE;
        JsonNode ps = o.get("part_size");
        if (ps != null && !ps.isNull()) {
            try {
                partSize = ps.isNumber() ? ps.asLong() : Units.size(ps.asText());
            } catch (IllegalArgumentException ex) {
                throw spec.error("part_size", ex.getMessage());
            }
            if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
                throw spec.error("part_size", "expected a size from 5M to 5G (S3's limits on a part), not " + ps.asText());
            }
        }
        return new S3StoreSettings(location, endpoint, region, pathStyle, partSize);
    }

    private static boolean isMapping(StoreSpec spec) {
        return spec.source() != null && spec.source().root().path(spec.field()).isObject();
    }

    private static URI endpoint(StoreSpec spec, String text) {
        try {
            URI u = new URI(text);
            String scheme = u.getScheme();
            if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null) {
                throw spec.error("endpoint", "'" + text + "' is not an http(s) URL: expected e.g. http://127.0.0.1:9000");
            }
            if (u.getUserInfo() != null) {
                throw spec.error("endpoint", "the endpoint must not carry credentials; Sortie takes them from the AWS SDK's default chain"
                        + " (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, an instance profile)");
            }
            return u;
        } catch (URISyntaxException ex) {
            throw spec.error("endpoint", "'" + text + "' is not a URL: " + ex.getReason());
        }
    }
}
