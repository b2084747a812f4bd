package dev.sortie.executor.aws;

import dev.sortie.core.config.Units;
import dev.sortie.core.executor.CheckOptions;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorCheck;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorOption;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import java.io.IOException;
import java.util.List;

/** The {@code aws} executor type: EC2 instances launched, reused and terminated by Sortie. */
public final class AwsExecutorProvider implements ExecutorProvider {
    public static final String TYPE = "aws";

    @Override
    public String type() {
        return TYPE;
    }

    /** Validates the options; connects nowhere (AWS is first called by a launch, a check, up, down or status). */
    @Override
    public Executor create(ExecutorSpec spec, ExecutorContext context) {
        return new AwsExecutor(AwsExecutorConfig.fromOptions(spec.name(), spec.options()), context);
    }

    @Override
    public List<ExecutorOption> addOptions() {
        return List.of(
                ExecutorOption.text("--region", "REGION", "region", "AWS region to launch in, e.g. us-east-1."),
                ExecutorOption.text("--instance-type", "TYPE", "instance_type", "EC2 instance type, e.g. g5.xlarge."),
                ExecutorOption.flag("--spot", "spot", "Launch spot instances."),
                ExecutorOption.text("--image", "AMI", "image", "Machine image (default: the region's current Ubuntu LTS)."),
                ExecutorOption.text("--subnet", "SUBNET", "subnet", "Subnet to launch into (default: the default VPC's)."),
                ExecutorOption.integer("--max-instances", "N", "max_instances", "Instances a queue may run at once (default 1)."),
                ExecutorOption.text("--idle-stop", "DURATION", "idle_stop", "An instance with no run this long terminates itself (default 10m)."),
                ExecutorOption.text("--max-lifetime", "DURATION", "max_lifetime", "An instance terminates itself after this long (default: never)."),
                ExecutorOption.text("--disk", "SIZE", "disk", "Root volume size, e.g. 100G (default: the image's)."),
                ExecutorOption.text("--ssh-user", "USER", "ssh_user", "Login user (default: the image family's, e.g. ubuntu)."),
                ExecutorOption.flag("--private-ip", "private_ip", "Connect to instances' private addresses (VPN, same VPC)."),
                ExecutorOption.text("--ssh-from", "CIDR", "ssh_from", "Where SSH may come from (default: this machine's address)."),
                ExecutorOption.text("--lost-after", "DURATION", "lost_after", "A run whose instance does not answer this long is lost,"
                        + " and continued on a new one from its last checkpoint (default 5m)."),
                ExecutorOption.integer("--on-demand-after", "N", "on_demand_after", "With --spot: an experiment whose instances were"
                        + " interrupted or lost N times goes on on-demand (default 2)."),
                ExecutorOption.text("--boot-timeout", "DURATION", "boot_timeout", "An instance not ready this long is terminated (default 10m)."),
                ExecutorOption.list("--fallback", "ENTRY,...", "fallback", "Tried in order when AWS has no capacity or a quota is reached:"
                        + " zone:Z, type:T, on-demand (fields of one entry joined with +)."),
                ExecutorOption.text("--volume", "NAME[:SIZE]", "volume", "A named EBS volume that keeps the node-local cache from one"
                        + " instance to the next (default size: the task's data: with headroom, at least 1G)."));
    }

    @Override
    public List<String> addExamples() {
        return List.of("sortie executor add gpu --type aws --region eu-west-1 --instance-type g5.xlarge --spot --max-instances 4",
                "sortie executor add cpu --type aws --region us-east-1 --instance-type c7i.2xlarge --idle-stop 5m --max-lifetime 12h",
                "sortie executor add data --type aws --region us-east-1 --instance-type g5.xlarge --volume imagenet:500G");
    }

    /** Credentials, region, instance type and image: says what a launch would start, without starting anything. */
    @Override
    public ExecutorCheck check(Executor executor, CheckOptions options) throws IOException {
        AwsExecutor aws = (AwsExecutor) executor;
        AwsExecutorConfig c = aws.config();
        StringBuilder sb = new StringBuilder();
        try {
            List<String> zones = aws.cloud().zones();
            sb.append("credentials: accepted by EC2 in ").append(c.region()).append(" (zones ").append(String.join(", ", zones)).append(")\n");
            Provisioner.Choice choice = aws.provisioner().choose(aws.projectTask());
            Provisioner.Plan plan = aws.provisioner().plan(choice.type());
            sb.append("would launch: ").append(plan.type().describe()).append(c.spot() ? ", spot" : ", on-demand")
                    .append(choice.zone() == null ? "" : " in " + choice.zone()).append(", ").append(Prices.describe(choice.hourly(), choice.spot()))
                    .append(" (").append(choice.why()).append(")\n");
            if (!c.fallback().isEmpty()) {
                sb.append("fallback: ").append(String.join("; then ", c.fallback().stream().map(Fallback::describe).toList())).append('\n');
            }
            sb.append("image: ").append(plan.image().id()).append(" (").append(plan.image().name()).append("; ").append(plan.image().how()).append(")\n");
            sb.append("login: ").append(plan.sshUser()).append(" with key pair ").append(plan.keyName()).append(" (").append(plan.keyFile()).append(")\n");
            sb.append("network: ").append(c.subnet() == null ? "the default VPC" : c.subnet())
                    .append(c.privateIp() ? ", private addresses" : ", public addresses").append('\n');
            sb.append("limits: at most ").append(c.maxInstances()).append(c.maxInstances() == 1 ? " instance" : " instances")
                    .append(", idle stop ").append(Units.human(c.idleStop()))
                    .append(c.maxLifetime() == null ? "" : ", max lifetime " + Units.human(c.maxLifetime()))
                    .append(c.diskGb() == null ? "" : ", root volume " + c.diskGb() + " GiB").append('\n');
            if (c.volume() != null) {
                sb.append("volume: ").append(aws.namedVolumes().describeFor(c.volume())).append('\n');
            }
            long running = aws.cloudInstances().stream().filter(i -> c.name().equals(i.executor())
                    && aws.identity().project().equals(i.project()) && "running".equals(i.state())).count();
            sb.append("instances now: ").append(running).append(" running\n");
            String quotaProblem = checkQuota(sb, c, plan.type(), choice.spot());
            if (quotaProblem != null) {
                return new ExecutorCheck(sb.toString(), quotaProblem, 3);
            }
        } catch (AwsException e) {
            return new ExecutorCheck(sb.toString(), e.getMessage(), 3);
        } catch (IOException e) {
            return new ExecutorCheck(sb.toString(), e.getMessage(), 3);
        }
        return ExecutorCheck.ready(sb.toString());
    }

    /**
     * Prints the account's vCPU quota for the type's family and market beside what would be launched; returns why the
     * executor cannot launch when the quota is smaller than one instance (null otherwise). A quota that cannot be read
     * (no permission, an unknown family) is said and not counted as a failure: the launch itself finds out.
     */
    private static String checkQuota(StringBuilder sb, AwsExecutorConfig c, AwsCloud.TypeInfo type, boolean spot) {
        Quotas.Code code = Quotas.codeFor(type.name(), spot);
        if (code == null) {
            sb.append("quota: not checked (no vCPU quota known for the family of ").append(type.name()).append(")\n");
            return null;
        }
        Quotas.Quota q;
        try {
            q = Quotas.lookUp(code, c.region());
        } catch (AwsException e) {
            sb.append("quota: not checked (").append(e.getMessage()).append(")\n");
            return null;
        }
        long need = type.vcpus();
        long most = c.maxInstances() * need;
        sb.append("quota: ").append(q.describe()).append("; one ").append(type.name()).append(" needs ").append(need)
                .append(c.maxInstances() > 1 ? ", " + c.maxInstances() + " need " + most : "").append('\n');
        if (q.vcpus() < need) {
            return "the account's quota " + code.code() + " (" + code.name() + ") in " + c.region() + " is " + (long) q.vcpus()
                    + " vCPUs, less than the " + need + " of one " + type.name() + (spot ? " spot" : " on-demand") + " instance: "
                    + Quotas.howToRaise(code, c.region(), Math.max(need, most));
        }
        if (q.vcpus() < most) {
            sb.append("quota: ").append((long) q.vcpus()).append(" vCPUs run at most ").append((long) (q.vcpus() / need))
                    .append(" of the ").append(c.maxInstances()).append(" instances --max-instances allows (those you run already count)\n");
        }
        return null;
    }
}
