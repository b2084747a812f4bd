package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host whose disk is full: its remote folder is a real file system of 24 MB (a tmpfs in the host's own mount
 * namespace), so every write past that fails with ENOSPC, as on a full disk.
 */
@Tag("integration")
class RemoteDiskFullTest {
    static SshHosts hosts;
    static SshdFixture host;

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeAll
    static void startHost() throws Exception {
        hosts = SshHosts.start(0);
        host = hosts.addWithDisk("24m");
    }

    @AfterAll
    static void stopHost() throws Exception {
        if (hosts != null) {
            hosts.close();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("small", host, host.hostDir().resolve("sortie")));
    }

    Experiment experiment(String name) {
        try (Ledger l = SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            return l.find(name).orElseThrow();
        }
    }

    static byte[] random(int bytes) {
        byte[] b = new byte[bytes];
        new Random(bytes).nextBytes(b);
        return b;
    }

    @Test
    void codeThatDoesNotFitIsAClearInfrastructureErrorAndTheHostWorksOnceItFits() throws Exception {
        project.write("train.py", "print('trained', flush=True)\n");
        Files.createDirectories(project.dir.resolve("data"));
        Files.write(project.dir.resolve("data/big.bin"), random(30 << 20));
        project.commit();

        TestProject.Result r = project.sortie("run", "-n", "toobig", "-e", "small", "--", "python3", "train.py");
        // not the experiment's failure: the infrastructure's (exit code 3), with what would fix it
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err()).contains("could not start: no space left on").contains("30.0 MiB")
                .contains("free").contains("'remote_dir:'").doesNotContain("tar:");
        assertThat(experiment("toobig").status()).isEqualTo(ExperimentStatus.FAILED);

        Files.delete(project.dir.resolve("data/big.bin"));
        project.write("data/small.bin", "x").commit();
        TestProject.Result ok = project.sortie("run", "-n", "fits", "-e", "small", "--", "python3", "train.py");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("trained");
    }

    @Test
    void aRunThatFillsTheDiskFailsWithItsOwnErrorAndItsLogIsKept() throws Exception {
        project.write("fill.py", """
                        import sys
                        print('writing', flush=True)
                        try:
                            with open('filler.bin', 'wb') as f:
                                while True:
                                    f.write(b'x' * (1 << 20))
                        except OSError as e:
                            print('failed:', e.strerror, file=sys.stderr, flush=True)
                            sys.exit(7)
                        """).commit();
        TestProject.Result r = project.sortie("run", "-n", "filler", "-e", "small", "--", "python3", "fill.py");
        assertThat(r.code()).isEqualTo(1);
        Experiment e = experiment("filler");
        assertThat(e.status()).isEqualTo(ExperimentStatus.FAILED);
        assertThat(e.exitCode()).isEqualTo(7);
        assertThat(project.sortie("logs", "filler").out()).contains("writing").contains("No space left on device");

        // the filled work folder is not kept for reuse on a disk that short of space: the next run fits
        project.write("train.py", "print('trained', flush=True)\n").commit();
        TestProject.Result next = project.sortie("run", "-n", "after", "-e", "small", "--", "python3", "train.py");
        assertThat(next.code()).as(next.err()).isZero();
    }
}
