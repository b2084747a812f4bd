package dev.sortie.executor.aws;

import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.retries.api.RetryStrategy;

/**
 * How Sortie's AWS calls are retried: the SDK's standard strategy, built with Sortie's own conditions. Throttling
 * (RequestLimitExceeded and its kin) and transient faults (5xx, I/O) are retried with exponential backoff and jitter;
 * capacity and quota errors are not, even when AWS sends them as 5xx: the fallback list answers them, at once,
 * rather than the same request again. {@code AWS_MAX_ATTEMPTS} (the SDK's own variable) sets the attempts.
 */
final class AwsRetries {
    /** AWS's throttling error codes (the SDK's list, plus EC2's own). */
    static final Set<String> THROTTLING = Set.of("Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
            "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
            "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
            "EC2ThrottledException");
    /** Errors that another zone, type or market may not have: the fallback list's cue. */
    static final Set<String> CAPACITY = Set.of("InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity",
            "SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded", "InstanceLimitExceeded", "VcpuLimitExceeded", "Unsupported");
    static final int DEFAULT_ATTEMPTS = 6;

    private AwsRetries() {
    }

    static RetryStrategy strategy() {
        return StandardRetryStrategy.builder()
                .maxAttempts(attempts(System.getenv("AWS_MAX_ATTEMPTS")))
                .retryOnException(AwsRetries::retryable)
                .treatAsThrottling(AwsRetries::throttling)
                // the client adds AWS's own conditions (5xx among them): a capacity error is not retried all the same
                .doNotRetryWhen(r -> capacity(r.failure()))
                .backoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(100), Duration.ofSeconds(20)))
                .throttlingBackoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(500), Duration.ofSeconds(20)))
                .circuitBreakerEnabled(false) // a CLI makes few calls: every call gets its attempts
                .build();
    }

    static int attempts(String env) {
        if (env != null && env.trim().matches("\\d{1,2}") && Integer.parseInt(env.trim()) >= 1) {
            return Integer.parseInt(env.trim());
        }
        return DEFAULT_ATTEMPTS;
    }

    static String code(Throwable t) {
        return t instanceof AwsServiceException s && s.awsErrorDetails() != null ? s.awsErrorDetails().errorCode() : null;
    }

    static boolean capacity(Throwable t) {
        return code(t) != null && CAPACITY.contains(code(t));
    }

    static boolean throttling(Throwable t) {
        return (code(t) != null && THROTTLING.contains(code(t))) || (t instanceof AwsServiceException s && s.statusCode() == 429);
    }

    static boolean retryable(Throwable t) {
        if (t instanceof AwsServiceException s) {
            String code = code(t);
            if (code != null && CAPACITY.contains(code)) {
                return false;
            }
            return throttling(t) || s.statusCode() == 500 || s.statusCode() == 502 || s.statusCode() == 503 || s.statusCode() == 504;
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException) {
                return true; // the connection failed or was cut: the SDK's clients make requests idempotent (client tokens)
            }
        }
        return false;
    }
}
