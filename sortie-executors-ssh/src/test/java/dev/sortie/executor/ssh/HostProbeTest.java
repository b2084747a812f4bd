package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostProbeTest {

    @Test
    void parsesAGpuHostWithJava17() {
        HostReport r = HostProbe.parse("me@gpu1:22", String.join("\n",
                "os=Linux 6.8.0-45-generic",
                "arch=x86_64",
                "distro=Ubuntu 24.04.1 LTS",
                "cpus=32",
                "mem_kb=131900000",
                "home=/home/me",
                "disk_free_kb=104857600",
                "gpu=0, NVIDIA H100 80GB HBM3, 81559",
                "gpu=1, NVIDIA H100 80GB HBM3, 81559",
                "java_path=/usr/bin/java",
                "java=openjdk version \"17.0.12\" 2024-07-16",
                "end=1", ""));
        assertThat(r.os()).isEqualTo("Linux 6.8.0-45-generic");
        assertThat(r.distro()).isEqualTo("Ubuntu 24.04.1 LTS");
        assertThat(r.cpus()).isEqualTo(32);
        assertThat(r.memoryBytes()).isEqualTo(131900000L * 1024);
        assertThat(r.diskFreeBytes()).isEqualTo(100L << 30);
        assertThat(r.gpus()).containsExactly(new HostReport.Gpu(0, "NVIDIA H100 80GB HBM3", 81559), new HostReport.Gpu(1, "NVIDIA H100 80GB HBM3", 81559));
        assertThat(r.javaVersion()).isEqualTo("17.0.12");
        assertThat(r.javaMajor()).isEqualTo(17);
        assertThat(r.canRunSortie()).isTrue();
        assertThat(r.render()).contains("gpu 1:  NVIDIA H100 80GB HBM3, 81559 MiB").contains("ready:  yes");
    }

    @Test
    void saysWhatIsMissingAndHowToFixIt() {
        HostReport none = HostProbe.parse("h", "os=Linux 5.10\ncpus=4\nend=1\n");
        assertThat(none.canRunSortie()).isFalse();
        assertThat(none.missing()).singleElement().asString().contains("Java 17 or newer: no java found").contains("apt-get install -y openjdk-17-jre-headless");
        assertThat(none.memoryBytes()).isEqualTo(-1);
        assertThat(none.gpus()).isEmpty();
        assertThat(none.render()).contains("ready:  no").contains("gpus:   none");

        HostReport old = HostProbe.parse("h", "java_path=/usr/bin/java\njava=java version \"1.8.0_292\"\nend=1\n");
        assertThat(old.javaMajor()).isEqualTo(8);
        assertThat(old.missing()).singleElement().asString().contains("found Java 1.8.0_292 at /usr/bin/java, too old");
    }

    @Test
    void javaMajorVersions() {
        for (var c : List.of(List.of("17.0.15", 17), List.of("21", 21), List.of("22-ea", 22), List.of("1.8.0_292", 8), List.of("11.0.2+9", 11))) {
            assertThat(HostProbe.javaMajor((String) c.get(0))).as((String) c.get(0)).isEqualTo(c.get(1));
        }
        assertThat(HostProbe.javaMajor("weird")).isEqualTo(-1);
    }
}
