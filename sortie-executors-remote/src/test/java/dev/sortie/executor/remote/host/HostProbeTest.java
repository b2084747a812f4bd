package dev.sortie.executor.remote.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @Test
    void anUnwritableRemoteDirIsMissingWithTheFix() {
        HostReport r = HostProbe.parse("h", String.join("\n",
                "user=trainer",
                "remote_dir=/data/sortie",
                "remote_dir_error=cannot create it: mkdir: cannot create directory '/data/sortie': Permission denied",
                "disk_free_kb=104857600",
                "java_path=/usr/bin/java",
                "java=openjdk version \"21.0.4\" 2024-07-16",
                "end=1", ""));
        assertThat(r.canRunSortie()).isFalse();
        assertThat(r.missing()).singleElement().asString()
                .contains("a writable remote_dir: /data/sortie: cannot create it: mkdir: cannot create directory '/data/sortie': Permission denied")
                .contains("set 'remote_dir:' on the executor to a folder trainer can write")
                .contains("sudo mkdir -p '/data/sortie' && sudo chown trainer '/data/sortie'");
        assertThat(r.warnings()).isEmpty();
        assertThat(r.render()).contains("disk:   100.0 GiB free in /data/sortie (remote_dir)").contains("ready:  no");
    }

    @Test
    void lowDiskAndAFailingNvidiaSmiAreWarnedAboutWithoutBlocking() {
        HostReport r = HostProbe.parse("h", String.join("\n",
                "remote_dir=/home/me/.sortie",
                "disk_free_kb=524288",
                "nvidia_smi_error=exit 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. ",
                "java_path=/usr/bin/java",
                "java=openjdk version \"17.0.12\" 2024-07-16",
                "end=1", ""));
        assertThat(r.canRunSortie()).isTrue();
        assertThat(r.gpus()).isEmpty();
        assertThat(r.gpuError()).startsWith("exit 9: NVIDIA-SMI has failed");
        assertThat(r.warnings()).hasSize(2);
        assertThat(r.warnings().get(0)).contains("only 512 MiB free in the filesystem of /home/me/.sortie (under 1 GiB)")
                .contains("set 'remote_dir:' on the executor to a bigger filesystem");
        assertThat(r.warnings().get(1)).contains("nvidia-smi is installed but failed (exit 9: NVIDIA-SMI has failed")
                .contains("fix the NVIDIA driver");
        assertThat(r.render()).contains("gpus:   nvidia-smi failed (see warnings)").contains("ready:  yes").contains("warnings:\n  - low disk");
        // 1 GiB or more is fine
        assertThat(HostProbe.parse("h", "disk_free_kb=1048576\njava_path=/j\njava=version \"17\"\nend=1\n").warnings()).isEmpty();
    }

    @Test
    void remoteDirIsOneShellWordWithTildeExpandedOnTheHost() {
        assertThat(HostProbe.shellPath("~")).isEqualTo("\"$HOME\"");
        assertThat(HostProbe.shellPath("~/.sortie")).isEqualTo("\"$HOME\"/'.sortie'");
        assertThat(HostProbe.shellPath("/data/it's $(here)")).isEqualTo("'/data/it'\\''s $(here)'");
    }

    /** The probe script itself, run by a real sh with fake nvidia-smi and java first on the PATH. */
    @Test
    void theScriptReportsRemoteDirGpusAndJavaAsTheHostHasThem(@TempDir Path tmp) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path home = Files.createDirectories(tmp.resolve("home"));
        script(bin.resolve("nvidia-smi"), "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"; exit 9");
        script(bin.resolve("java"), "echo 'openjdk version \"11.0.2\" 2019-01-15' >&2");
        String weird = "~/with space/it's $(touch pwned)";
        HostReport r = HostProbe.parse("local", run(HostProbe.script(weird), bin, home));
        Path created = home.resolve("with space/it's $(touch pwned)");
        assertThat(created).isDirectory().isEmptyDirectory(); // created, written to, cleaned up
        assertThat(r.remoteDir()).isEqualTo(created.toString());
        assertThat(tmp.resolve("pwned")).doesNotExist();
        assertThat(r.diskFreeBytes()).isPositive();
        assertThat(r.gpuError()).isEqualTo("exit 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
        assertThat(r.javaMajor()).isEqualTo(11);
        assertThat(r.missing()).singleElement().asString().contains("found Java 11.0.2 at " + bin.resolve("java") + ", too old");

        // a remote_dir under a regular file cannot be made, whoever runs it (root included)
        Files.writeString(home.resolve("a-file"), "x");
        script(bin.resolve("nvidia-smi"), "echo '0, NVIDIA H100 80GB HBM3, 81559'");
        HostReport blocked = HostProbe.parse("local", run(HostProbe.script("~/a-file/sortie"), bin, home));
        assertThat(blocked.missing()).anySatisfy(m -> assertThat(m).contains("a writable remote_dir: " + home.resolve("a-file/sortie")
                + ": cannot create it: mkdir:"));
        assertThat(blocked.diskFreeBytes()).isPositive(); // measured at the nearest folder that exists
        assertThat(blocked.gpus()).containsExactly(new HostReport.Gpu(0, "NVIDIA H100 80GB HBM3", 81559));
        assertThat(blocked.gpuError()).isNull();
    }

    private static void script(Path file, String body) throws Exception {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static String run(String script, Path bin, Path home) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).directory(home.getParent().toFile()).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":/usr/bin:/bin");
        pb.environment().put("HOME", home.toString());
        pb.environment().remove("JAVA_HOME");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }
}
