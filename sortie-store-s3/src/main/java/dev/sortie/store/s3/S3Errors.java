package dev.sortie.store.s3;

import java.io.IOException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Turns the SDK's exceptions into IOExceptions (the CLI's exit 3) that say which store, which endpoint and what to
 * check. The SDK's messages carry request ids, never credentials; nothing here adds any.
 */
final class S3Errors {
    static final String CREDENTIALS_HINT = "Sortie uses the AWS SDK's default credentials (AWS_ACCESS_KEY_ID and"
            + " AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, a container or instance role)";

    private final S3Location location;
    private final String endpoint;

    S3Errors(S3Location location, String endpoint) {
        this.location = location;
        this.endpoint = endpoint;
    }

    /** What went wrong doing {@code what} (e.g. "reading blob KEY"). */
    IOException translate(String what, SdkException e) {
        String where = location.url() + " (endpoint " + endpoint + ")";
        if (e instanceof S3Exception s3) {
            int status = s3.statusCode();
            String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
            String msg = s3.awsErrorDetails() == null ? s3.getMessage() : s3.awsErrorDetails().errorMessage();
            String detail = (code == null ? "HTTP " + status : code + " (HTTP " + status + ")") + (msg == null || msg.isBlank() ? "" : ": " + msg);
            if (status == 403) {
                return new IOException("access denied to the S3 store " + where + " " + what + ": " + detail + "; " + CREDENTIALS_HINT, e);
            }
            if ("NoSuchBucket".equals(code) || status == 404 && what.startsWith("checking")) {
                return new IOException("the bucket '" + location.bucket() + "' does not exist at " + endpoint
                        + " (store " + location.url() + "): create it, or fix 'store:' in the config", e);
            }
            if (status == 301 || "PermanentRedirect".equals(code)) {
                return new IOException("the bucket '" + location.bucket() + "' is in another region than the one Sortie used"
                        + " (set 'region:' under 'store:' or AWS_REGION): " + detail, e);
            }
            return new IOException("the S3 store " + where + " failed " + what + ": " + detail, e);
        }
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof SdkClientException && msg.contains("credentials")) {
            return new IOException("no AWS credentials for the S3 store " + where + ": " + CREDENTIALS_HINT, e);
        }
        return new IOException("cannot reach the S3 store " + where + " " + what + ": " + msg, e);
    }
}
