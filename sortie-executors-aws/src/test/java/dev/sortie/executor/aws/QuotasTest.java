package dev.sortie.executor.aws;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class QuotasTest {
    @Test
    void eachFamilyAndMarketHasItsVcpuQuota() {
        assertThat(Quotas.codeFor("t3.micro", false).code()).isEqualTo("L-1216C47A");
        assertThat(Quotas.codeFor("c7i.2xlarge", false).code()).isEqualTo("L-1216C47A");
        assertThat(Quotas.codeFor("m7a.large", true).code()).isEqualTo("L-34B43A08");
        assertThat(Quotas.codeFor("g5.xlarge", false).code()).isEqualTo("L-DB2E81BA");
        assertThat(Quotas.codeFor("g5.xlarge", true).code()).isEqualTo("L-3819A6DF");
        assertThat(Quotas.codeFor("vt1.3xlarge", false).code()).isEqualTo("L-DB2E81BA");
        assertThat(Quotas.codeFor("p4d.24xlarge", false).code()).isEqualTo("L-417A185B");
        assertThat(Quotas.codeFor("p5.48xlarge", true).code()).isEqualTo("L-7212CCBC");
        assertThat(Quotas.codeFor("inf2.xlarge", false).code()).isEqualTo("L-1945791B");
        assertThat(Quotas.codeFor("x2iedn.xlarge", false).code()).isEqualTo("L-7295265B");
        assertThat(Quotas.codeFor("gr6.4xlarge", false).code()).isEqualTo("L-DB2E81BA");
        assertThat(Quotas.codeFor("im4gn.large", false).code()).isEqualTo("L-1216C47A");
    }

    @Test
    void aFamilyWithoutAKnownQuotaIsNotGuessed() {
        assertThat(Quotas.codeFor("dl1.24xlarge", false)).isNull();
        assertThat(Quotas.codeFor("trn1.2xlarge", false)).isNull();
        assertThat(Quotas.codeFor("u-6tb1.metal", false)).isNull();
        assertThat(Quotas.codeFor("mac2.metal", false)).isNull();
        assertThat(Quotas.codeFor("hpc7g.4xlarge", false)).isNull();
    }

    @Test
    void theWayToRaiseAQuotaNamesItsCodeRegionAndTheValueNeeded() {
        String how = Quotas.howToRaise(Quotas.codeFor("g5.xlarge", true), "eu-west-1", 8);
        assertThat(how).contains("--region eu-west-1", "--quota-code L-3819A6DF", "--desired-value 8",
                "servicequotas/home/services/ec2/quotas/L-3819A6DF?region=eu-west-1");
    }
}
