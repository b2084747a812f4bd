package dev.sortie.executor.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RemoteLayout;
import dev.sortie.executor.remote.sync.AgentBundle;
import dev.sortie.executor.remote.sync.AgentInstall;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The agent's jars onto a real OpenSSH sshd on loopback, and the agent started from them. */
@Tag("integration")
class AgentInstallIntegrationTest {
    @Sshd
    private static SshdFixture sshd;

    @Test
    void theBundleIsTheAgentAndWhatItNeedsNotJGitOrMina() throws Exception {
        AgentBundle bundle = AgentBundle.current();
        assertThat(AgentBundle.current()).isSameAs(bundle);
        List<AgentBundle.Jar> jars = bundle.jars();
        assertThat(bundle.jars()).isSameAs(jars);
        assertThat(jars).hasSize(AgentBundle.MARKERS.size());
        assertThat(jars).extracting(j -> j.local().toString().toLowerCase())
                .noneMatch(p -> p.contains("jgit") || p.contains("sshd") || p.contains("commons-compress"));
        for (AgentBundle.Jar j : jars) {
            assertThat(j.sha256()).isEqualTo(TransferFixture.sha256(Files.readAllBytes(j.local())));
            assertThat(j.size()).isEqualTo(Files.size(j.local()));
        }
    }

    @Test
    void aClassFolderIsZippedTheSameWayEveryTime() throws Exception {
        Path classes = Files.createTempDirectory(sshd.dir, "classes");
        Files.createDirectories(classes.resolve("a/b"));
        Files.writeString(classes.resolve("a/b/C.class"), "not really a class");
        Files.writeString(classes.resolve("a/A.class"), "nor this");
        Files.writeString(classes.resolve("z.properties"), "k=v");
        AgentBundle one = AgentBundle.of(List.of(classes));
        Files.setLastModifiedTime(classes.resolve("a/A.class"), java.nio.file.attribute.FileTime.fromMillis(0));
        AgentBundle two = AgentBundle.of(List.of(classes));
        assertThat(one.jars().get(0).sha256()).isEqualTo(two.jars().get(0).sha256());
        assertThat(one.jars().get(0).local()).isNotEqualTo(two.jars().get(0).local());
    }

    @Test
    void installsOnceAndTheAgentStartsFromTheRemoteClasspath() throws Exception {
        RemoteLayout layout = TransferFixture.layout(sshd);
        AgentBundle bundle = AgentBundle.current();
        try (SshConnection c = TransferFixture.connect(sshd)) {
            String cp = AgentInstall.ensure(c, layout, bundle);
            List<String> entries = List.of(cp.split(":"));
            assertThat(entries).hasSize(bundle.jars().size());
            Map<Path, Object> inodes = new HashMap<>();
            for (int i = 0; i < entries.size(); i++) {
                Path p = Path.of(entries.get(i));
                assertThat(p.getParent()).isEqualTo(Path.of(layout.agentDir()));
                assertThat(p.getFileName().toString()).isEqualTo(bundle.jars().get(i).sha256() + ".jar");
                assertThat(TransferFixture.sha256(Files.readAllBytes(p))).isEqualTo(bundle.jars().get(i).sha256());
                inodes.put(p, Files.getAttribute(p, "unix:ino"));
            }

            assertThat(AgentInstall.ensure(c, layout, bundle)).isEqualTo(cp);
            for (Map.Entry<Path, Object> e : inodes.entrySet()) {
                assertThat(Files.getAttribute(e.getKey(), "unix:ino")).as("not uploaded again: " + e.getKey()).isEqualTo(e.getValue());
            }

            // one jar gone (a cleanup, a new version): only it is sent again
            Path gone = Path.of(entries.get(0));
            Files.delete(gone);
            AgentInstall.ensure(c, layout, bundle);
            assertThat(gone).exists();
            assertThat(Files.getAttribute(Path.of(entries.get(1)), "unix:ino")).isEqualTo(inodes.get(Path.of(entries.get(1))));

            // the jars are a complete agent: it loads and answers with its usage
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            HostChannel.Result r = c.exec(List.of(java, "-cp", cp, bundle.mainClass()), Duration.ofSeconds(60));
            assertThat(r.exitCode()).as(r.stderr()).isEqualTo(2);
            assertThat(r.stderr()).contains("usage: AgentMain");
        }
    }
}
