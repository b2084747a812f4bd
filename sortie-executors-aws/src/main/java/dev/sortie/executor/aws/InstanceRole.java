package dev.sortie.executor.aws;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.InstanceProfile;
import software.amazon.awssdk.services.iam.model.NoSuchEntityException;
import software.amazon.awssdk.services.iam.model.Role;

/**
 * The IAM role and instance profile an executor's instances are launched with when the project's store is an S3
 * bucket: the node's agent reads and writes the store with the credentials the instance's metadata service hands out
 * for this role (the AWS SDK's default chain), never the user's. Its one policy allows only that bucket's prefix:
 * reading, writing and listing objects under it. Made idempotently (each call converges to the same role, profile and
 * policy), one per executor and store: {@code sortie-node-<executor>-<hash of the store's URL>} (two projects that
 * name an executor alike but keep different stores get roles of their own). Deleted by {@code sortie down} once no
 * instance uses them ({@link #deleteUnused}).
 */
final class InstanceRole {
    private static final System.Logger LOG = System.getLogger(InstanceRole.class.getName());
    /** Who may take the role: EC2 instances. */
    static final String TRUST = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},\
            "Action":"sts:AssumeRole"}]}""";
    static final String POLICY_NAME = "sortie-store";

    private InstanceRole() {
    }

    /** Whether RunInstances refused because EC2 does not see the instance profile yet (IAM's eventual consistency). */
    static boolean notYetVisible(AwsException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        return "InvalidParameterValue".equals(e.code()) && m.contains("iamInstanceProfile");
    }

    /** The role's (and its instance profile's) name: IAM names are at most 64 of [A-Za-z0-9+=,.@_-]. */
    static String name(String executor, String storeUrl) {
        return stem(executor) + "-" + Provisioner.shortHash(storeUrl);
    }

    /** What the names of the roles of {@code executor}'s instances begin with, whatever their store. */
    private static String stem(String executor) {
        String n = PREFIX + executor.replaceAll("[^A-Za-z0-9+=,.@_-]", "-");
        return n.length() <= 46 ? n : n.substring(0, 46);
    }

    static final String PREFIX = "sortie-node-";

    /** Whether {@code role} is a role sortie made for the instances of {@code executor} (for any store). */
    static boolean madeFor(String executor, String role) {
        return role.length() == stem(executor).length() + 9 && role.startsWith(stem(executor) + "-")
                && role.substring(role.length() - 8).matches("[0-9a-f]{8}");
    }

    /** Whether {@code role} is a role sortie made for the instances of some executor keeping its store at {@code storeUrl}. */
    static boolean madeForStore(String storeUrl, String role) {
        return role.startsWith(PREFIX) && role.endsWith("-" + Provisioner.shortHash(storeUrl));
    }

    private static IamClient iam() {
        return IamClient.builder().region(Region.AWS_GLOBAL).httpClientBuilder(UrlConnectionHttpClient.builder())
                .overrideConfiguration(o -> o.retryStrategy(AwsRetries.strategy())).build();
    }

    /**
     * Deletes the roles sortie made for instances that {@code which} picks (by name), each with its instance profile and
     * policy, unless an instance of {@code cloud}'s region (anyone's) still runs with it or may again (a stopped one):
     * IAM would let a role in use be deleted, and that instance's agent would lose the store. A launch that needs one
     * later makes it again ({@link #ensure}). Says on {@code say} what it deleted and what it kept; returns the deleted.
     */
    static List<String> deleteUnused(AwsCloud cloud, Predicate<String> which, Consumer<String> say) throws AwsException {
        List<String> deleted = new ArrayList<>();
        String current = null;
        try (IamClient iam = iam()) {
            List<String> names = new ArrayList<>();
            for (var page : iam.listRolesPaginator(r -> { })) {
                page.roles().stream().map(Role::roleName).filter(n -> n.startsWith(PREFIX) && which.test(n)).forEach(names::add);
            }
            for (String name : names) {
                current = name;
                List<String> users = cloud.instancesWithProfile(name);
                if (!users.isEmpty()) {
                    say.accept("[sortie] aws: keeping the IAM role and instance profile " + name + ": " + String.join(", ", users) + " still use it");
                    continue;
                }
                ignoreMissing(() -> iam.removeRoleFromInstanceProfile(r -> r.instanceProfileName(name).roleName(name)));
                ignoreMissing(() -> iam.deleteInstanceProfile(r -> r.instanceProfileName(name)));
                ignoreMissing(() -> iam.deleteRolePolicy(r -> r.roleName(name).policyName(POLICY_NAME)));
                ignoreMissing(() -> iam.deleteRole(r -> r.roleName(name)));
                LOG.log(System.Logger.Level.INFO, "deleted IAM role and instance profile {0}", name);
                say.accept("[sortie] aws: deleted the IAM role and instance profile " + name + " (no instance uses it)");
                deleted.add(name);
            }
            return deleted;
        } catch (SdkException e) {
            throw AwsException.of(e, (current == null ? "list the IAM roles sortie made for instances" : "delete the IAM role " + current)
                    + " (the credentials need iam:ListRoles, iam:RemoveRoleFromInstanceProfile, iam:DeleteInstanceProfile,"
                    + " iam:DeleteRolePolicy and iam:DeleteRole)", "global");
        }
    }

    private static void ignoreMissing(Runnable call) {
        try {
            call.run();
        } catch (NoSuchEntityException gone) {
            // deleted already (an earlier down stopped halfway, or another sortie): the state we want
        }
    }

    /** The policy: objects under {@code prefix} of {@code bucket}, and listing the bucket under it (HeadBucket needs it). */
    static String policy(String bucket, String prefix) {
        String p = prefix == null || prefix.isEmpty() ? "" : (prefix.endsWith("/") ? prefix : prefix + "/");
        return "{\"Version\":\"2012-10-17\",\"Statement\":["
                + "{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\",\"s3:AbortMultipartUpload\","
                + "\"s3:ListMultipartUploadParts\"],\"Resource\":\"arn:aws:s3:::" + bucket + "/" + p + "*\"},"
                + "{\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::" + bucket + "\","
                + "\"Condition\":{\"StringLike\":{\"s3:prefix\":[\"" + p + "*\"]}}}]}";
    }

    /**
     * Makes (or finds) the role with the store's policy and its instance profile; returns the profile's name.
     *
     * @param storeUrl {@code s3://bucket/prefix}
     */
    static String ensure(String executor, String storeUrl) throws AwsException {
        String rest = storeUrl.substring(storeUrl.indexOf("://") + 3);
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        String name = name(executor, storeUrl);
        try (IamClient iam = iam()) {
            try {
                iam.getRole(r -> r.roleName(name));
            } catch (NoSuchEntityException e) {
                iam.createRole(r -> r.roleName(name).assumeRolePolicyDocument(TRUST)
                        .description("Sortie executor " + executor + ": its instances' access to the project's store " + storeUrl)
                        .tags(t -> t.key(Tags.EXECUTOR).value(executor)));
                LOG.log(System.Logger.Level.INFO, "made IAM role {0} for the store {1}", name, storeUrl);
            }
            iam.putRolePolicy(r -> r.roleName(name).policyName(POLICY_NAME).policyDocument(policy(bucket, prefix)));
            InstanceProfile profile;
            try {
                profile = iam.getInstanceProfile(r -> r.instanceProfileName(name)).instanceProfile();
            } catch (NoSuchEntityException e) {
                profile = iam.createInstanceProfile(r -> r.instanceProfileName(name)).instanceProfile();
            }
            if (profile.roles().stream().noneMatch(r -> r.roleName().equals(name))) {
                iam.addRoleToInstanceProfile(r -> r.instanceProfileName(name).roleName(name));
            }
            return name;
        } catch (SdkException e) {
            throw AwsException.of(e, "make the IAM role " + name + " that lets instances use the store " + storeUrl
                    + " (the credentials need iam:CreateRole, iam:PutRolePolicy, iam:CreateInstanceProfile,"
                    + " iam:AddRoleToInstanceProfile and iam:PassRole)", "global");
        }
    }
}
