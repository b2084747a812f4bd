package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI where projects are odd: YAML aliases, many runs at once, special files in the workspace, names that look
 * like ids, files that are not text, read-only and full disks (real mounts, made with unshare as root).
 */
@Tag("integration")
class ProjectEdgesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("sortie.yaml", "name: t\nrun: echo lr=${lr}\nparams: {lr: 0.1}\n").commit();
    }

    private JsonNode show() throws Exception {
        TestProject.Result r = project.sortie("show", "--json");
        assertThat(r.code()).isZero();
        return JSON.readTree(r.out());
    }

    @Test
    void aliasesInParamsRunWithTheAnchorsValue() throws Exception {
        project.write("sortie.yaml", "name: t\nrun: echo lr=${lr}\nparams: {base: &x 0.25, lr: *x}\n");
        TestProject.Result r = project.sortie("run", "-n", "alias");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("lr=0.25");
    }

    @Test
    @Timeout(60)
    void anAliasBombIsAConfigError() throws Exception {
        StringBuilder y = new StringBuilder("name: t\nrun: echo hi\nparams:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'i'; c++) {
            y.append("  ").append(c).append(": &").append(c).append(" [").append(String.join(", ", java.util.Collections.nCopies(9, "*" + (char) (c - 1))))
                    .append("]\n");
        }
        project.write("sortie.yaml", y.toString());
        TestProject.Result r = project.sortie("run");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("sortie.yaml:").contains("'params.").contains("aliases expand to more than");
        assertThat(show()).isEmpty();
    }

    @Test
    @Timeout(300)
    void parallelRunsWithoutNamesGetDistinctNames() throws Exception {
        project.sortie("init");
        List<Process> runs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            runs.add(project.spawn(tmp.resolve("run" + i + ".log"), "run", "-q"));
        }
        for (int i = 0; i < runs.size(); i++) {
            assertThat(runs.get(i).waitFor(240, TimeUnit.SECONDS)).isTrue();
            assertThat(runs.get(i).exitValue()).as(Files.readString(tmp.resolve("run" + i + ".log"))).isZero();
        }
        Set<String> names = new HashSet<>();
        for (JsonNode e : show()) {
            names.add(e.get("name").asText());
        }
        assertThat(names).containsExactlyInAnyOrder("t-1", "t-2", "t-3", "t-4", "t-5", "t-6", "t-7", "t-8");
        TestProject.Result taken = project.sortie("run", "-n", "t-3");
        assertThat(taken.code()).isEqualTo(2);
        assertThat(taken.err()).contains("already exists");
    }

    @Test
    @Timeout(120)
    void fifosAndSocketsInTheWorkspaceAreSkippedWithANote() throws Exception {
        Files.createDirectories(project.dir.resolve("data"));
        Process mkfifo = new ProcessBuilder("mkfifo", project.dir.resolve("data/pipe").toString()).inheritIO().start();
        assertThat(mkfifo.waitFor()).isZero();
        try (ServerSocketChannel socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            socket.bind(UnixDomainSocketAddress.of(project.dir.resolve("data/sock")));
            project.write("data/real.txt", "kept\n");
            TestProject.Result r = project.sortie("run", "-n", "special", "--", "sh", "-c", "ls data");
            assertThat(r.code()).isZero();
            assertThat(r.err()).contains("[sortie] skipped 2 special files (not a regular file, symlink or folder): data/pipe, data/sock");
            assertThat(r.out()).contains("real.txt").doesNotContain("pipe").doesNotContain("sock");
        }
    }

    @Test
    void namesThatLookLikeIdsAreRefused() throws Exception {
        TestProject.Result first = project.sortie("run", "-n", "first");
        assertThat(first.code()).isZero();
        String id;
        try (dev.sortie.ledger.SqliteLedger ledger = dev.sortie.ledger.SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"))) {
            id = ledger.list().get(0).id();
        }
        for (String name : List.of(id, id.substring(0, 4), "4391dd5281", "beef")) {
            TestProject.Result r = project.sortie("run", "-n", name);
            assertThat(r.code()).as(name).isEqualTo(2);
            assertThat(r.err()).contains("'" + name + "' cannot be an experiment name").contains("looks like an experiment id")
                    .contains("'run-" + name + "'");
        }
        assertThat(project.sortie("run", "-n", "beefy").code()).isZero();
        assertThat(project.sortie("run", "-n", "12345678901").code()).isZero();
    }

    @Test
    void aSortieYamlThatIsNotUtf8IsAConfigErrorThatSaysSo() throws Exception {
        Files.write(project.dir.resolve("sortie.yaml"), new byte[] {'r', 'u', 'n', ':', ' ', 'x', '\n', 'n', ':', ' ', (byte) 0xff, (byte) 0xfe, 0, '\n'});
        TestProject.Result r = project.sortie("run");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("sortie.yaml:2").contains("not valid UTF-8 text").contains("byte offset 10").doesNotContain("Input length");
        Files.write(project.dir.resolve("params.yaml"), new byte[] {'l', 'r', ':', ' ', (byte) 0xc3, '\n'});
        project.write("sortie.yaml", "run: echo hi\n");
        TestProject.Result params = project.sortie("run");
        assertThat(params.code()).isEqualTo(2);
        assertThat(params.err()).contains("params.yaml:1").contains("not valid UTF-8 text");
        assertThat(params.err()).as("the file's path as it is").contains(project.dir.resolve("params.yaml") + ":1").doesNotContain("/./");
    }

    /** {@code sortie ARGS} in its own JVM inside a private mount namespace where {@code setup} (sh) has run first. */
    private TestProject.Result inMountNamespace(String setup, String... args) throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        Assumptions.assumeTrue((root && Files.isExecutable(Path.of("/usr/bin/unshare"))) || System.getenv("CI") != null,
                "read-only and full disks are real mounts: they need root and unshare (util-linux)");
        List<String> java = new ArrayList<>(project.processBuilder(tmp.resolve("unused"), args).command());
        StringBuilder script = new StringBuilder(setup).append(" && exec");
        for (String a : java) {
            script.append(" '").append(a.replace("'", "'\\''")).append('\'');
        }
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        Process p = new ProcessBuilder("unshare", "--mount", "sh", "-c", script.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("sortie %s ends", String.join(" ", args)).isTrue();
        TestProject.Result r = new TestProject.Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        System.err.println("$ sortie " + String.join(" ", args) + " -> " + r.code() + "\n" + r.err());
        return r;
    }

    private String readOnly(Path dir) {
        return "mount --bind '" + dir + "' '" + dir + "' && mount -o remount,bind,ro '" + dir + "'";
    }

    @Test
    @Timeout(180)
    void aReadOnlyProjectNamesThePathThatCannotBeWritten() throws Exception {
        TestProject.Result noStateDir = inMountNamespace(readOnly(project.dir), "run");
        assertThat(noStateDir.code()).isEqualTo(3);
        assertThat(noStateDir.err()).contains(project.dir.resolve(".sortie").toString()).contains("Read-only file system");

        assertThat(project.sortie("init").code()).isZero();
        TestProject.Result readOnlyGit = inMountNamespace(readOnly(project.dir.resolve(".git")), "run");
        assertThat(readOnlyGit.code()).isEqualTo(3);
        assertThat(readOnlyGit.err()).contains("cannot record the code snapshot in " + project.dir.resolve(".git"))
                .contains("Read-only file system");

        TestProject.Result readOnlyState = inMountNamespace(readOnly(project.dir.resolve(".sortie")), "run");
        assertThat(readOnlyState.code()).isEqualTo(3);
        assertThat(readOnlyState.err()).contains(project.dir.resolve(".sortie").toString()).contains("Read-only file system");
    }

    @Test
    @Timeout(180)
    void aReadOnlySortieFolderCanStillBeReadWithANote() throws Exception {
        // SQLite in WAL mode could not open the ledger on a read-only mount even to read it: show failed (exit 3)
        TestProject.Result ran = project.sortie("run", "-n", "kept");
        assertThat(ran.code()).as(ran.err()).isZero();
        TestProject.Result show = inMountNamespace(readOnly(project.dir.resolve(".sortie")), "show", "--json");
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(JSON.readTree(show.out()).get(0).get("name").asText()).isEqualTo("kept");
        assertThat(show.err()).contains(project.dir.resolve(".sortie") + " cannot be written").contains("nothing can be recorded");
        TestProject.Result logs = inMountNamespace(readOnly(project.dir.resolve(".sortie")), "logs", "kept");
        assertThat(logs.code()).as(logs.err()).isZero();
        assertThat(logs.out()).contains("lr=0.1");
        // what writes still says what cannot be written
        TestProject.Result run = inMountNamespace(readOnly(project.dir.resolve(".sortie")), "run");
        assertThat(run.code()).isEqualTo(3);
        assertThat(run.err()).contains("Read-only file system");
    }

    @Test
    @Timeout(180)
    void aFullDiskIsAnInfrastructureErrorSayingWhereAndHowMuchIsFree() throws Exception {
        Path disk = tmp.resolve("disk");
        Files.createDirectories(disk);
        project = new TestProject(disk.resolve("proj"));
        String setup = "mount -t tmpfs -o size=4m tmpfs '" + disk + "' && mkdir -p '" + project.dir + "' && cd '" + project.dir + "'"
                + " && git init -q && printf 'run: python3 -c \"[print(chr(120) * 60, i) for i in range(300000)]\"\\n' > sortie.yaml";
        TestProject.Result r = inMountNamespace(setup, "run", "-q");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.err()).contains("the disk of " + project.dir.resolve(".sortie") + " is full").contains("free of 4.0 MiB")
                .doesNotContain("could not run the command");
    }

    @Test
    @Timeout(240)
    void aRunWhoseLogFillsTheDiskIsLaterFoundSayingTheDiskWasFull() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) && Files.isExecutable(Path.of("/usr/bin/unshare")),
                "a full disk is a real mount: it needs root and unshare (util-linux)");
        // .sortie on a 3 MiB disk that the run's own log fills: 'sortie run' cannot record the end (exit 3, right),
        // and the next 'sortie show' found the run without its watcher: "killed or crashed", no word of the disk.
        assertThat(project.sortie("init").code()).isZero();
        Path state = project.dir.resolve(".sortie");
        Path keep = tmp.resolve("state-before");
        Files.move(state, keep);
        Files.createDirectories(state);
        String java = sortieCommand(tmp.resolve("unused"));
        String script = "mount -t tmpfs -o size=3m tmpfs '" + state + "' && cp -a '" + keep + "'/. '" + state + "'"
                + " && head -c 600000 /dev/zero > '" + state + "/room'"
                + " && " + java + " run -q -n filler -- python3 -c '[print(chr(120) * 60, i) for i in range(300000)]' > /dev/null;"
                + " echo run-exit=$?; rm -f '" + state + "/room'; echo ---; " + java + " show --json --columns name,status,error";
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Process p = new ProcessBuilder("unshare", "--mount", "sh", "-c", script).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(200, TimeUnit.SECONDS)).isTrue();
        String printed = Files.readString(out, StandardCharsets.UTF_8);
        System.err.println(printed);
        assertThat(printed).contains("run-exit=3").contains("is full");
        JsonNode rows = JSON.readTree(printed.substring(printed.indexOf("---") + 3));
        JsonNode filler = rows.get(0);
        assertThat(filler.get("name").asText()).isEqualTo("filler");
        assertThat(filler.get("status").asText()).isEqualTo("interrupted");
        assertThat(filler.get("error").asText()).contains("the disk of " + state + " was full").doesNotContain("killed or crashed");
    }

    /** The command line of a sortie process in this project, quoted for sh. */
    private String sortieCommand(Path output) {
        StringBuilder sb = new StringBuilder();
        for (String a : project.processBuilder(output).command()) {
            sb.append(sb.length() == 0 ? "" : " ").append('\'').append(a.replace("'", "'\\''")).append('\'');
        }
        return sb.toString();
    }
}
