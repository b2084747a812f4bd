package dev.sortie.executor.aws;

import dev.sortie.core.config.TaskConfig;
import java.io.IOException;

/**
 * Which instance type a launch asks for. Today the executor's {@code instance_type}; the cheapest type that fits a
 * task's {@code resources:} (DescribeInstanceTypes with on-demand and spot prices) slots in here later.
 */
interface InstanceChooser {

    /** The type to launch for {@code task} (null: none in particular, e.g. {@code sortie up}). */
    String choose(TaskConfig task) throws IOException;

    /** The executor's explicit type, whatever the task asks for. */
    static InstanceChooser explicit(AwsExecutorConfig config) {
        return task -> {
            if (config.instanceType() == null) {
                throw new IOException("executor '" + config.name() + "' has no instance type: choosing one from the task's resources"
                        + " is not supported yet; set it with `sortie executor add " + config.name() + " --type aws --region "
                        + config.region() + " --instance-type TYPE` (e.g. t3.large, g5.xlarge)");
            }
            return config.instanceType();
        };
    }
}
