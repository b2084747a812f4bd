package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.executor.remote.sync.AgentBundle;
import java.util.List;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/** The agent with the S3 store's client, from the CLI's own classpath (which also has the EC2, IAM and SSM clients). */
class AgentS3BundleTest {
    @Test
    void theS3BundleIsTheAgentPlusTheS3ClientAndNoOtherServicesClient() throws Exception {
        List<AgentBundle.Jar> agent = AgentBundle.current().jars();
        List<AgentBundle.Jar> withS3 = AgentBundle.withS3Store().jars();
        assertThat(withS3.subList(0, agent.size())).as("the agent's jars first, the same").isEqualTo(agent);
        List<AgentBundle.Jar> extra = withS3.subList(agent.size(), withS3.size());
        assertThat(extra).anySatisfy(j -> assertThat(has(j, "dev/sortie/store/s3/S3BlobStoreProvider.class")).isTrue());
        assertThat(extra).anySatisfy(j -> assertThat(has(j, "software/amazon/awssdk/services/s3/S3Client.class")).isTrue());
        assertThat(extra).anySatisfy(j -> assertThat(has(j, "software/amazon/awssdk/http/urlconnection/UrlConnectionHttpClient.class")).isTrue());
        assertThat(extra).noneSatisfy(j -> assertThat(has(j, "software/amazon/awssdk/services/ec2/Ec2Client.class")).isTrue());
        assertThat(extra).noneSatisfy(j -> assertThat(has(j, "software/amazon/awssdk/services/iam/IamClient.class")).isTrue());
        long bytes = extra.stream().mapToLong(AgentBundle.Jar::size).sum();
        assertThat(bytes).as("the S3 client's jars").isLessThan(16L << 20);
    }

    private static boolean has(AgentBundle.Jar jar, String entry) {
        try (ZipFile z = new ZipFile(jar.local().toFile())) {
            return z.getEntry(entry) != null;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
