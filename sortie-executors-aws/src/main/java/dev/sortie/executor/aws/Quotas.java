package dev.sortie.executor.aws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * The account's EC2 vCPU quota for an instance type's family and market, from the Service Quotas API
 * (GetServiceQuota, then GetAWSDefaultServiceQuota when no value was ever applied), for {@code sortie executor test}.
 *
 * <p>The API is called as AWS's JSON 1.1 protocol with a SigV4 signature from the SDK's own signer and credentials
 * chain (the SDK's Service Quotas client is not published for this SDK version); its endpoint is overridden the
 * standard way ({@code AWS_ENDPOINT_URL_SERVICE_QUOTAS}, else {@code AWS_ENDPOINT_URL}).
 */
final class Quotas {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TARGET = "ServiceQuotasV20190624.";

    /** A vCPU quota of EC2 (service code {@code ec2}). */
    record Code(String code, String name) {
    }

    /** The quota found: its code and name, its value in vCPUs, whether it is AWS's default (never raised). */
    record Quota(Code code, double vcpus, boolean isDefault) {
        String describe() {
            return code.name() + ": " + (long) vcpus + " vCPUs (" + code.code() + (isDefault ? ", AWS's default" : "") + ")";
        }
    }

    // AWS's quota codes, by the family letters an instance type starts with (Service Quotas console, EC2).
    private static final Map<String, Code> ON_DEMAND = Map.of(
            "standard", new Code("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
            "g", new Code("L-DB2E81BA", "Running On-Demand G and VT instances"),
            "p", new Code("L-417A185B", "Running On-Demand P instances"),
            "f", new Code("L-74FC7D96", "Running On-Demand F instances"),
            "x", new Code("L-7295265B", "Running On-Demand X instances"),
            "inf", new Code("L-1945791B", "Running On-Demand Inf instances"));
    private static final Map<String, Code> SPOT = Map.of(
            "standard", new Code("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
            "g", new Code("L-3819A6DF", "All G and VT Spot Instance Requests"),
            "p", new Code("L-7212CCBC", "All P Spot Instance Requests"),
            "f", new Code("L-88CF9481", "All F Spot Instance Requests"),
            "x", new Code("L-E3A00192", "All X Spot Instance Requests"),
            "inf", new Code("L-B5D1601B", "All Inf Spot Instance Requests"));

    private Quotas() {
    }

    /** The quota that counts an instance type's vCPUs in a market; null for a family this does not know (dl, trn, u-..). */
    static Code codeFor(String instanceType, boolean spot) {
        String family = instanceType.toLowerCase(Locale.ROOT);
        int dot = family.indexOf('.');
        family = dot < 0 ? family : family.substring(0, dot);
        String letters = family.replaceAll("[^a-z].*$", "");
        String key = switch (letters) {
            // the letters before the generation's digit: c7i is "c", im4gn "im", g4dn "g", gr6 "gr"
            case "a", "c", "d", "h", "i", "m", "r", "t", "z", "im", "is" -> "standard";
            case "g", "gr", "vt" -> "g";
            case "p" -> "p";
            case "f" -> "f";
            case "x" -> "x";
            case "inf" -> "inf";
            default -> null; // dl, trn, hpc, mac, u-: quotas of their own, not checked here
        };
        return key == null ? null : (spot ? SPOT : ON_DEMAND).get(key);
    }

    /** How to raise a quota, for the message of one that is too small. */
    static String howToRaise(Code code, String region, long wanted) {
        return "request an increase in the Service Quotas console (https://console.aws.amazon.com/servicequotas/home/services/ec2/quotas/"
                + code.code() + "?region=" + region + ") or with: aws service-quotas request-service-quota-increase --region " + region
                + " --service-code ec2 --quota-code " + code.code() + " --desired-value " + wanted;
    }

    /**
     * The quota's value for this account in {@code region}.
     *
     * @throws AwsException when Service Quotas refuses or does not answer
     */
    static Quota lookUp(Code code, String region) throws AwsException {
        try (SdkHttpClient http = UrlConnectionHttpClient.create()) {
            AwsCredentialsProvider creds = DefaultCredentialsProvider.builder().build();
            JsonNode applied = call(http, creds, region, "GetServiceQuota", code.code());
            if (applied != null) {
                return new Quota(code, applied.path("Quota").path("Value").asDouble(), false);
            }
            JsonNode dflt = call(http, creds, region, "GetAWSDefaultServiceQuota", code.code());
            if (dflt != null) {
                return new Quota(code, dflt.path("Quota").path("Value").asDouble(), true);
            }
            throw new AwsException("Service Quotas in " + region + " knows no quota " + code.code() + " (" + code.name() + ")", "NoSuchResourceException", null);
        } catch (SdkException e) {
            throw AwsException.of(e, "read the quota " + code.code() + " (" + code.name() + ")", region);
        }
    }

    /** One call; the answer, or null for NoSuchResourceException. */
    private static JsonNode call(SdkHttpClient http, AwsCredentialsProvider creds, String region, String operation, String quotaCode)
            throws AwsException {
        byte[] body = ("{\"ServiceCode\":\"ec2\",\"QuotaCode\":\"" + quotaCode + "\"}").getBytes(StandardCharsets.UTF_8);
        URI endpoint = endpoint(region);
        SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(endpoint)
                .putHeader("Content-Type", "application/x-amz-json-1.1")
                .putHeader("X-Amz-Target", TARGET + operation).build();
        AwsCredentialsIdentity identity = creds.resolveIdentity().join();
        SignedRequest signed = AwsV4HttpSigner.create().sign(r -> r.identity(identity).request(request)
                .payload(ContentStreamProvider.fromByteArray(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "servicequotas")
                .putProperty(AwsV4HttpSigner.REGION_NAME, region));
        String what = operation + " " + quotaCode + " at " + endpoint;
        try {
            HttpExecuteResponse response = http.prepareRequest(HttpExecuteRequest.builder().request(signed.request())
                    .contentStreamProvider(ContentStreamProvider.fromByteArray(body)).build()).call();
            JsonNode answer;
            try (InputStream in = response.responseBody().map(b -> (InputStream) b).orElse(InputStream.nullInputStream())) {
                byte[] bytes = in.readAllBytes();
                answer = bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes);
            }
            int status = response.httpResponse().statusCode();
            if (status == 200) {
                return answer;
            }
            String type = answer.path("__type").asText("");
            type = type.substring(type.lastIndexOf('#') + 1);
            if (type.equals("NoSuchResourceException")) {
                return null;
            }
            String message = answer.path("message").asText(answer.path("Message").asText(""));
            String hint = type.startsWith("AccessDenied") ? " (the credentials need servicequotas:GetServiceQuota)" : "";
            throw new AwsException("Service Quotas refused " + what + ": HTTP " + status + " " + type + " " + message + hint, type, null);
        } catch (IOException e) {
            if (e instanceof AwsException a) {
                throw a;
            }
            throw new AwsException("Service Quotas did not answer " + what + ": " + e.getMessage(), null, e);
        }
    }

    /** The standard overrides (the service's own variable, then the global one), else AWS's regional endpoint. */
    static URI endpoint(String region) {
        for (String v : new String[] {"AWS_ENDPOINT_URL_SERVICE_QUOTAS", "AWS_ENDPOINT_URL"}) {
            String e = System.getenv(v);
            if (e != null && !e.isBlank()) {
                return URI.create(e.trim());
            }
        }
        return URI.create("https://servicequotas." + region + ".amazonaws.com");
    }
}
