package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class InstanceRoleTest {
    @Test
    void theRoleIsNamedForTheExecutorAndTheStoreWithinIamsLimits() {
        String a = InstanceRole.name("gpu", "s3://b/team");
        assertThat(a).startsWith("sortie-node-gpu-").hasSize("sortie-node-gpu-".length() + 8);
        assertThat(InstanceRole.name("gpu", "s3://b/other")).isNotEqualTo(a);
        String longName = InstanceRole.name("x".repeat(80) + " /weird", "s3://b/p");
        assertThat(longName).hasSizeLessThanOrEqualTo(64).matches("[A-Za-z0-9+=,.@_-]+");
    }

    @Test
    void theRolesOfAnExecutorAreToldFromThoseOfAnotherExecutorWhoseNameBeginsAlike() {
        String gpu = InstanceRole.name("gpu", "s3://b/team");
        assertThat(InstanceRole.madeFor("gpu", gpu)).isTrue();
        assertThat(InstanceRole.madeFor("gpu", InstanceRole.name("gpu", "s3://b/old-store"))).isTrue();
        assertThat(InstanceRole.madeFor("gpu", InstanceRole.name("gpu-big", "s3://b/team"))).isFalse();
        assertThat(InstanceRole.madeFor("gpu-big", gpu)).isFalse();
        assertThat(InstanceRole.madeFor("gpu", "sortie-node-gpu-notahash")).isFalse();
        assertThat(InstanceRole.madeFor("gpu", "someone-elses-role")).isFalse();
        String longName = InstanceRole.name("x".repeat(80), "s3://b/p");
        assertThat(InstanceRole.madeFor("x".repeat(80), longName)).isTrue();
        assertThat(InstanceRole.madeForStore("s3://b/team", gpu)).isTrue();
        assertThat(InstanceRole.madeForStore("s3://b/other", gpu)).isFalse();
    }

    @Test
    void thePolicyAllowsOnlyTheStoresPrefix() throws Exception {
        JsonNode p = new ObjectMapper().readTree(InstanceRole.policy("bkt", "team/proj"));
        assertThat(p.path("Statement")).hasSize(2);
        assertThat(p.path("Statement").get(0).path("Resource").asText()).isEqualTo("arn:aws:s3:::bkt/team/proj/*");
        assertThat(p.path("Statement").get(0).path("Action").toString()).contains("s3:GetObject", "s3:PutObject")
                .doesNotContain("s3:DeleteObject", "s3:*");
        assertThat(p.path("Statement").get(1).path("Resource").asText()).isEqualTo("arn:aws:s3:::bkt");
        assertThat(p.path("Statement").get(1).path("Condition").toString()).contains("team/proj/*");
        assertThat(new ObjectMapper().readTree(InstanceRole.policy("bkt", "")).path("Statement").get(0).path("Resource").asText())
                .isEqualTo("arn:aws:s3:::bkt/*");
    }
}
