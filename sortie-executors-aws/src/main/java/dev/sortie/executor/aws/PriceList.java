package dev.sortie.executor.aws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;

/**
 * On-demand prices from AWS's Price List API ({@code pricing} GetProducts: Linux, shared tenancy, no pre-installed
 * software, used capacity), one region's every instance type, page by page. The API answers from us-east-1,
 * eu-central-1 and ap-south-1 only; the closest is asked. The request is the API's JSON protocol signed with the
 * SDK's own SigV4 signer and the SDK's default credential chain (the SDK's {@code pricing} module is not published
 * at the version of the others). The endpoint follows the SDK's standard settings: {@code AWS_ENDPOINT_URL_PRICING},
 * else {@code AWS_ENDPOINT_URL} (how the tests point it at the simulated cloud), else AWS's.
 */
final class PriceList {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ATTEMPTS = 5;

    private PriceList() {
    }

    /** The Price List endpoint's region closest to {@code region}. */
    static String endpointRegion(String region) {
        if (region.startsWith("eu-") || region.startsWith("me-") || region.startsWith("af-") || region.startsWith("il-")) {
            return "eu-central-1";
        }
        if (region.startsWith("ap-")) {
            return "ap-south-1";
        }
        return "us-east-1";
    }

    static URI endpoint(String region, Map<String, String> env) {
        String e = firstSet(env.get("AWS_ENDPOINT_URL_PRICING"), System.getProperty("aws.endpointUrlPricing"), env.get("AWS_ENDPOINT_URL"),
                System.getProperty("aws.endpointUrl"));
        return URI.create(e != null ? e : "https://api.pricing." + endpointRegion(region) + ".amazonaws.com");
    }

    private static String firstSet(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return null;
    }

    /** Every instance type's on-demand Linux price in {@code region}, USD an hour. */
    static Map<String, Double> onDemand(String region) throws IOException {
        AwsCredentials creds;
        try (DefaultCredentialsProvider p = DefaultCredentialsProvider.builder().build()) {
            creds = p.resolveCredentials();
        } catch (SdkException e) {
            throw AwsException.of(e, "read on-demand prices", region);
        }
        URI uri = endpoint(region, System.getenv());
        String signingRegion = endpointRegion(region);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        Map<String, Double> out = new HashMap<>();
        String next = null;
        do {
            ObjectNode req = JSON.createObjectNode();
            req.put("ServiceCode", "AmazonEC2").put("FormatVersion", "aws_v1").put("MaxResults", 100);
            ArrayNode filters = req.putArray("Filters");
            for (String[] f : new String[][]{{"regionCode", region}, {"operatingSystem", "Linux"}, {"tenancy", "Shared"},
                    {"preInstalledSw", "NA"}, {"capacitystatus", "Used"}}) {
                filters.addObject().put("Type", "TERM_MATCH").put("Field", f[0]).put("Value", f[1]);
            }
            if (next != null) {
                req.put("NextToken", next);
            }
            JsonNode page = call(http, uri, signingRegion, creds, JSON.writeValueAsBytes(req), region);
            for (JsonNode p : page.path("PriceList")) {
                parseProduct(p.isTextual() ? p.asText() : p.toString(), region).ifPresent(e -> out.merge(e.getKey(), e.getValue(), Math::min));
            }
            next = page.hasNonNull("NextToken") && !page.get("NextToken").asText().isEmpty() ? page.get("NextToken").asText() : null;
        } while (next != null);
        return out;
    }

    private static JsonNode call(HttpClient http, URI uri, String signingRegion, AwsCredentials creds, byte[] body, String region)
            throws IOException {
        for (int attempt = 1; ; attempt++) {
            SdkHttpRequest unsigned = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri.resolve("/"))
                    .putHeader("Content-Type", "application/x-amz-json-1.1")
                    .putHeader("X-Amz-Target", "AWSPriceListService.GetProducts").build();
            SignedRequest signed = AwsV4HttpSigner.create().sign(r -> r.identity(creds).request(unsigned)
                    .payload(ContentStreamProvider.fromByteArray(body))
                    .putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "pricing")
                    .putProperty(AwsV4HttpSigner.REGION_NAME, signingRegion));
            HttpRequest.Builder b = HttpRequest.newBuilder(signed.request().getUri()).timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body));
            signed.request().forEachHeader((k, vs) -> {
                if (!k.equalsIgnoreCase("Host") && !k.equalsIgnoreCase("Content-Length")) {
                    vs.forEach(v -> b.header(k, v));
                }
            });
            HttpResponse<String> r;
            try {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading prices");
            } catch (IOException e) {
                if (attempt < ATTEMPTS) {
                    backoff(attempt);
                    continue;
                }
                throw new AwsException("cannot read on-demand prices: the Price List API at " + uri + " does not answer (" + e + ")", null, e);
            }
            if (r.statusCode() == 200) {
                return JSON.readTree(r.body());
            }
            JsonNode err;
            try {
                err = JSON.readTree(r.body());
            } catch (IOException e) {
                err = JSON.createObjectNode();
            }
            String type = err.path("__type").asText("");
            String code = type.contains("#") ? type.substring(type.indexOf('#') + 1) : type;
            String message = err.has("message") ? err.get("message").asText() : err.path("Message").asText("HTTP " + r.statusCode());
            if ((AwsRetries.THROTTLING.contains(code) || r.statusCode() == 429 || r.statusCode() >= 500) && attempt < ATTEMPTS) {
                backoff(attempt);
                continue;
            }
            String hint = code.startsWith("AccessDenied") ? "; the credentials need pricing:GetProducts (or give --instance-type)" : "";
            throw new AwsException("AWS refused to read on-demand prices for " + region + ": " + (code.isEmpty() ? "" : code + ": ")
                    + message + hint, code.isEmpty() ? null : code, null);
        }
    }

    private static void backoff(int attempt) throws InterruptedIOException {
        try {
            Thread.sleep((long) (Math.min(20_000, 500L << (attempt - 1)) * (0.5 + Math.random() / 2)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading prices");
        }
    }

    /**
     * One product of the Price List (its documented JSON: {@code product.attributes.instanceType}, {@code
     * terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD} per {@code Hrs}) as (instance type, USD an hour), when it
     * is a Linux, shared, used-capacity instance of {@code region} with an hourly price.
     */
    static Optional<Map.Entry<String, Double>> parseProduct(String json, String region) throws IOException {
        JsonNode p = JSON.readTree(json);
        JsonNode a = p.path("product").path("attributes");
        String type = a.path("instanceType").asText(null);
        if (type == null || !"Linux".equals(a.path("operatingSystem").asText()) || !"Shared".equals(a.path("tenancy").asText())
                || !"NA".equals(a.path("preInstalledSw").asText("NA")) || !"Used".equals(a.path("capacitystatus").asText("Used"))
                || (a.has("regionCode") && !region.equals(a.get("regionCode").asText()))) {
            return Optional.empty();
        }
        for (Iterator<JsonNode> terms = p.path("terms").path("OnDemand").elements(); terms.hasNext(); ) {
            for (Iterator<JsonNode> dims = terms.next().path("priceDimensions").elements(); dims.hasNext(); ) {
                JsonNode d = dims.next();
                String usd = d.path("pricePerUnit").path("USD").asText(null);
                if ("Hrs".equals(d.path("unit").asText()) && usd != null) {
                    double v = Double.parseDouble(usd);
                    if (v > 0) {
                        return Optional.of(Map.entry(type, v));
                    }
                }
            }
        }
        return Optional.empty();
    }
}
