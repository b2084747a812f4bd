package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sortie executor test} reads the account's vCPU quota for the chosen type's family and market from Service
 * Quotas (answered by the simulated cloud from values the test sets, in AWS's format: moto has no EC2 quotas) and
 * prints it beside what would be launched; a quota smaller than one instance is exit 3 naming it and how to raise it.
 */
@Tag("integration")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
@ExtendWith(SimcloudExtension.class)
class AwsQuotaTest {
    static Simcloud cloud;
    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "run: echo hi\n").commit();
    }

    TestProject.Result sortie(String... args) throws Exception {
        return cloud.sortie(project, tmp, Map.of(), args);
    }

    void add(String name, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("executor", "add", name, "--type", "aws", "--region", "us-east-1",
                "--instance-type", "t3.micro", "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root"));
        args.addAll(List.of(more));
        TestProject.Result r = sortie(args.toArray(new String[0]));
        assertThat(r.code()).as(r.out()).isZero();
    }

    @Test
    void aQuotaThatFitsIsPrintedBesideWhatWouldBeLaunched() throws Exception {
        add("od", "--max-instances", "8");
        TestProject.Result unknown = sortie("executor", "test", "od");
        assertThat(unknown.code()).as(unknown.out()).isZero();
        assertThat(unknown.out()).contains("quota: not checked (Service Quotas in us-east-1 knows no quota L-1216C47A");

        cloud.control("POST", "/quotas", """
                {"region": "us-east-1", "quotas": [{"ServiceCode": "ec2", "QuotaCode": "L-1216C47A", "Value": 8,
                 "QuotaName": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"}]}""");
        TestProject.Result ok = sortie("executor", "test", "od");
        assertThat(ok.code()).as(ok.out()).isZero();
        assertThat(ok.out()).contains("would launch: t3.micro: 2 vCPUs",
                "quota: Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances: 8 vCPUs (L-1216C47A); one t3.micro needs 2,"
                        + " 8 need 16",
                "quota: 8 vCPUs run at most 4 of the 8 instances");
        assertThat(cloud.alive()).as("executor test launches nothing").isEmpty();
    }

    @Test
    void aQuotaTheCredentialsMayNotReadIsSaidAndNotAFailure() throws Exception {
        add("denied");
        cloud.control("POST", "/faults", """
                {"action": "GetServiceQuota", "error": "AccessDeniedException", "times": 1,
                 "message": "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: servicequotas:GetServiceQuota"}""");
        TestProject.Result r = sortie("executor", "test", "denied");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("would launch: t3.micro", "quota: not checked (Service Quotas refused GetServiceQuota L-1216C47A",
                "AccessDeniedException", "the credentials need servicequotas:GetServiceQuota");
    }

    @Test
    void aSpotQuotaSmallerThanOneInstanceIsExitThreeNamingItAndHowToRaiseIt() throws Exception {
        add("sp", "--spot");
        // never raised: AWS's default applies
        cloud.control("POST", "/quotas", """
                {"region": "us-east-1", "defaults": [{"ServiceCode": "ec2", "QuotaCode": "L-34B43A08", "Value": 1,
                 "QuotaName": "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"}]}""");
        TestProject.Result r = sortie("executor", "test", "sp");
        assertThat(r.code()).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("quota: All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests: 1 vCPUs (L-34B43A08, AWS's default)",
                "the account's quota L-34B43A08", "is 1 vCPUs, less than the 2 of one t3.micro spot instance",
                "aws service-quotas request-service-quota-increase --region us-east-1 --service-code ec2 --quota-code L-34B43A08 --desired-value 2");
        assertThat(cloud.alive()).isEmpty();
    }
}
