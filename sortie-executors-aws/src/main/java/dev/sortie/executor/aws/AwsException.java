package dev.sortie.executor.aws;

import java.io.IOException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * A call to AWS that failed, said for people: what was being done, in which region, and what AWS answered (its error
 * code, never the request's credentials). An infrastructure failure (exit 3).
 */
public final class AwsException extends IOException {
    private final String code;

    public AwsException(String message, String code, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** AWS's error code (InvalidInstanceType, UnauthorizedOperation...), or null when AWS was not reached. */
    public String code() {
        return code;
    }

    /** Explains an SDK failure while doing {@code what} in {@code region}. */
    public static AwsException of(SdkException e, String what, String region) {
        if (e instanceof AwsServiceException s) {
            String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
            String msg = s.awsErrorDetails() == null ? s.getMessage() : s.awsErrorDetails().errorMessage();
            if ((code == null || code.isBlank()) && (msg == null || msg.isBlank() || msg.equals("null"))) {
                return new AwsException("cannot " + what + ": EC2 in region '" + region + "' answered HTTP " + s.statusCode()
                        + " with no error" + regionHint(region), null, e);
            }
            String hint = switch (code == null ? "" : code) {
                case "AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch" ->
                        "; check the credentials the AWS SDK finds (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws/credentials, `aws sts get-caller-identity`)";
                case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException" ->
                        "; the credentials lack a permission Sortie needs (see the README's aws section)";
                case "InvalidInstanceType" -> "; `aws ec2 describe-instance-types --region " + region + "` lists the region's types";
                case "InvalidAMIID.NotFound", "InvalidAMIID.Malformed" -> "; AMI ids differ per region: give one of " + region + "'s";
                case "InsufficientInstanceCapacity", "SpotMaxPriceTooLow", "InsufficientCapacity" ->
                        "; AWS has no capacity for it now: try another type, another availability zone (--subnet), or on-demand";
                case "InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded" ->
                        "; a quota of the account is reached: Service Quotas in the console raises it";
                default -> "";
            };
            return new AwsException("AWS refused to " + what + " in " + region + ": " + (code == null ? "" : code + ": ") + msg + hint, code, e);
        }
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof SdkClientException && m.contains("Unable to load credentials")) {
            return new AwsException("no AWS credentials: the AWS SDK found none (environment AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,"
                    + " AWS_PROFILE and ~/.aws/credentials or config, SSO, web identity, container or instance roles); `aws configure`"
                    + " or `aws sso login` sets them up. Sortie never writes them", null, e);
        }
        if (e instanceof SdkClientException && (m.contains("UnknownHost") || m.contains("Unable to execute HTTP request")
                || m.contains("Unable to unmarshall") || m.contains("Unable to parse"))) {
            return new AwsException("cannot " + what + ": EC2 in region '" + region + "' does not answer (" + firstLine(m) + ")"
                    + regionHint(region), null, e);
        }
        return new AwsException("cannot " + what + " in " + region + ": " + firstLine(m), null, e);
    }

    /** "; 'xx-1' is not a region AWS's SDK knows (...)" or the way to list the account's regions. */
    static String regionHint(String region) {
        boolean known = software.amazon.awssdk.regions.Region.regions().stream().anyMatch(r -> r.id().equals(region));
        return known ? "; is the region enabled for your account? `aws ec2 describe-regions` lists them"
                : "; '" + region + "' is not a region AWS's SDK knows (e.g. us-east-1, eu-west-1, ap-southeast-2; `aws ec2 describe-regions`"
                + " lists your account's)";
    }

    private static String firstLine(String m) {
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
