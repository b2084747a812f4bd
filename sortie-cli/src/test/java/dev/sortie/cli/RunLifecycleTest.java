package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end on real processes, a real git repo, the real SQLite ledger and store. */
@Tag("integration")
class RunLifecycleTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TRAIN = """
            import json, os, sys, time
            lr = float(sys.argv[1]); epochs = int(sys.argv[2])
            os.makedirs("checkpoints", exist_ok=True)
            for e in range(epochs):
                print(f"loss={1.0 / (1 + lr * (e + 1)):.6f} acc={e / epochs:.3f} step={e}", flush=True)
                with open("checkpoints/ckpt.txt", "w") as f: f.write(str(e))
            print(json.dumps({"final": 1.0, "nested": {"x": 2}}))
            with open("model.bin", "w") as f: f.write("weights")
            """;

    @TempDir
    Path tmp;
    TestProject project;

    @BeforeEach
    void setUp() throws Exception {
        project = new TestProject(tmp.resolve("proj"));
        project.write("train.py", TRAIN)
                .write("sortie.yaml", """
                        name: demo
                        run: python3 train.py ${lr} ${epochs}
                        params: {lr: 0.1, epochs: 4}
                        checkpoints: checkpoints/
                        artifacts: [model.bin]
                        """)
                .commit();
    }

    Ledger ledger() {
        return SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"));
    }

    JsonNode show(String... extra) throws Exception {
        String[] args = new String[extra.length + 2];
        args[0] = "show";
        args[1] = "--json";
        System.arraycopy(extra, 0, args, 2, extra.length);
        TestProject.Result r = project.sortie(args);
        assertThat(r.code()).isZero();
        return JSON.readTree(r.out());
    }

    /** Waits until a file (a spawned sortie's output) contains {@code text}. */
    static void waitForText(Path file, String text, Duration timeout) throws InterruptedException {
        waitUntil("'" + text + "' in " + file.getFileName(), timeout, () -> {
            try {
                return Files.readString(file).contains(text);
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    static void waitUntil(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        Awaitility.await(what).atMost(timeout).pollInterval(Duration.ofMillis(50)).until(condition::getAsBoolean);
    }

    @Test
    void runRecordsParamsMetricsLogsArtifactsAndCode() throws Exception {
        TestProject.Result r = project.sortie("run", "-n", "first", "-S", "lr=0.5");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("loss=").contains("step=3");
        assertThat(r.err()).contains("first succeeded");

        JsonNode row = show().get(0);
        assertThat(row.get("name").asText()).isEqualTo("first");
        assertThat(row.get("status").asText()).isEqualTo("succeeded");
        assertThat(row.get("executor").asText()).isEqualTo("local");
        assertThat(row.get("lr").asDouble()).isEqualTo(0.5);
        assertThat(row.get("epochs").asInt()).isEqualTo(4);
        assertThat(row.get("loss").asDouble()).isCloseTo(1.0 / (1 + 0.5 * 4), org.assertj.core.data.Offset.offset(1e-6));
        assertThat(row.get("final").asDouble()).isEqualTo(1.0);
        assertThat(row.get("nested.x").asDouble()).isEqualTo(2.0);

        try (Ledger l = ledger()) {
            Experiment e = l.find("first").orElseThrow();
            assertThat(l.series(e.id(), "loss")).hasSize(4);
            List<ArtifactRecord> files = l.artifacts(e.id());
            assertThat(files).extracting(ArtifactRecord::path).contains("model.bin", "checkpoints/ckpt.txt");
            assertThat(files.stream().filter(a -> a.kind() == ArtifactKind.CHECKPOINT)).isNotEmpty();
            String hash = files.stream().filter(a -> a.path().equals("model.bin")).findFirst().orElseThrow().hash();
            Path blob = project.dir.resolve(".sortie/store/objects").resolve(hash.substring(0, 2)).resolve(hash.substring(2));
            assertThat(blob).hasContent("weights");
            assertThat(e.code().baseCommit()).isEqualTo(project.git("rev-parse", "HEAD").trim());
            assertThat(project.git("rev-parse", e.code().ref()).trim()).isEqualTo(e.code().snapshotCommit());
            // The work copy is gone once outputs are saved; the user's tree was never written to.
            assertThat(project.dir.resolve(".sortie/runs/" + e.id() + "/work")).doesNotExist();
            assertThat(project.dir.resolve("model.bin")).doesNotExist();
        }
        // Only Sortie's own folder appears (its .gitignore keeps ledger, store and runs out of git).
        assertThat(project.git("status", "--porcelain").lines().toList()).containsExactly("?? .sortie/");

        TestProject.Result logs = project.sortie("logs", "first");
        assertThat(logs.out()).contains("loss=").contains("\"final\"");
    }

    @Test
    void hostileParamsArriveAsDataThroughShellAndArgv() throws Exception {
        Path marker = tmp.resolve("pwned");
        String hostile = "$(touch " + marker + "); `touch " + marker + "`; rm -rf ~ \"quoted\" 'single'\nnewline";
        project.write("echo.py", "import sys, os\nopen('got.txt','w').write(sys.argv[1] + '|' + os.environ['SORTIE_PARAM_NAME'])\n")
                .write("sortie.yaml", "run: python3 echo.py ${name}\nparams: {name: x}\nartifacts: [got.txt]\n").commit();
        TestProject.Result r = project.sortie("run", "-n", "hostile-shell", "-S", "name=" + hostile);
        assertThat(r.code()).isZero();
        assertThat(marker).doesNotExist();
        assertThat(project.sortie("pull", "hostile-shell", "got.txt", "--to", tmp.resolve("pulled").toString()).code()).isZero();
        assertThat(Files.readString(tmp.resolve("pulled/got.txt"), StandardCharsets.UTF_8)).isEqualTo(hostile + "|" + hostile);

        TestProject.Result argv = project.sortie("run", "-n", "hostile-argv", "-S", "name=" + hostile, "--", "python3", "echo.py", "${name}");
        assertThat(argv.code()).isZero();
        assertThat(marker).doesNotExist();
        assertThat(project.sortie("pull", "hostile-argv", "--to", tmp.resolve("pulled2").toString()).code()).isZero();
        assertThat(Files.readString(tmp.resolve("pulled2/got.txt"), StandardCharsets.UTF_8)).isEqualTo(hostile + "|" + hostile);
    }

    @Test
    void failuresKeepLogsAndExitCodes() throws Exception {
        TestProject.Result r = project.sortie("run", "-n", "boom", "--", "python3", "-c", "print('before the crash', flush=True); import sys; sys.exit(7)");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("boom failed").contains("code 7");
        JsonNode row = show("--columns", "name,status,exit_code").get(0);
        assertThat(row.get("status").asText()).isEqualTo("failed");
        assertThat(row.get("exit_code").asInt()).isEqualTo(7);
        assertThat(project.sortie("logs", "boom").out()).contains("before the crash");

        TestProject.Result missing = project.sortie("run", "-n", "nocmd", "--", "no-such-command-xyz");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.out() + missing.err()).contains("no-such-command-xyz").contains("not found");
        TestProject.Result shellMissing = project.sortie("run", "-n", "nocmd2", "--", "sh", "-c", "no-such-command-xyz");
        assertThat(shellMissing.code()).isEqualTo(1);
        assertThat(shellMissing.err()).contains("127");
    }

    @Test
    void badInputIsAUsageErrorThatSaysWhatIsValid() throws Exception {
        TestProject.Result unknownParam = project.sortie("run", "-S", "lrr=1");
        assertThat(unknownParam.code()).isEqualTo(2);
        assertThat(unknownParam.err()).contains("unknown param 'lrr'").contains("lr, epochs");

        TestProject.Result unknownExecutor = project.sortie("run", "-e", "gpu9");
        assertThat(unknownExecutor.code()).isEqualTo(2);
        assertThat(unknownExecutor.err()).contains("unknown executor 'gpu9'").contains("local");

        TestProject.Result unknownExp = project.sortie("logs", "nope");
        assertThat(unknownExp.code()).isEqualTo(2);
        assertThat(unknownExp.err()).contains("no experiment 'nope'");

        project.write("sortie.yaml", "run: python3 train.py\nparams: {lr: 0.1}\nresources:\n  gpu: 1\n");
        TestProject.Result badYaml = project.sortie("run");
        assertThat(badYaml.code()).isEqualTo(2);
        assertThat(badYaml.err()).contains("sortie.yaml:4").contains("'resources.gpu'").contains("did you mean 'gpus'");

        TestProject.Result badFilter = project.sortie("show", "--filter", "loss<<1");
        assertThat(badFilter.code()).isEqualTo(2);
        TestProject.Result badOption = project.sortie("run", "--no-such-option");
        assertThat(badOption.code()).isEqualTo(2);
        assertThat(show()).isEmpty();
    }

    @Test
    void showSortsFiltersAndPrintsEveryFormat() throws Exception {
        for (String lr : List.of("0.1", "1.0", "3.0")) {
            assertThat(project.sortie("run", "-q", "-n", "lr" + lr, "-S", "lr=" + lr).code()).isZero();
        }
        JsonNode sorted = show("--sort-by", "loss");
        assertThat(sorted).extracting(n -> n.get("name").asText()).containsExactly("lr3.0", "lr1.0", "lr0.1");
        JsonNode desc = show("--sort-by", "lr", "--sort-order", "desc", "--filter", "loss<0.5");
        assertThat(desc).extracting(n -> n.get("name").asText()).containsExactly("lr3.0", "lr1.0");
        assertThat(show("--filter", "status=failed")).isEmpty();

        String text = project.sortie("show").out();
        List<String> lines = text.lines().toList();
        assertThat(lines.get(0)).startsWith("name").contains("status").contains("lr").contains("loss");
        int col = lines.get(0).indexOf("status");
        assertThat(lines.subList(1, lines.size())).allSatisfy(l -> assertThat(l.substring(col)).startsWith("succeeded"));
        assertThat(project.sortie("show", "--csv", "--columns", "name,lr").out()).startsWith("name,lr\n");
        assertThat(project.sortie("show", "--md", "--columns", "name,lr").out()).startsWith("| name | lr |\n| --- | --- |");

        TestProject.Result diff = project.sortie("diff", "lr0.1", "lr3.0");
        String rows = diff.out().split("\ncode: ")[0]; // the table; the code diff after it shows sortie.yaml's params line
        assertThat(rows).contains("param").contains("lr").contains("metric").contains("loss").doesNotContain("epochs");
        assertThat(diff.out()).contains("-params: {lr: 0.1, epochs: 4}").contains("+params: {lr: 3.0, epochs: 4}");
    }

    @Test
    void paramsYamlOverridesLandInTheRunAndTheSnapshotAndApplyBringsThemBack() throws Exception {
        project.write("sortie.yaml", "run: python3 show_params.py\nartifacts: [seen.yaml]\n")
                .write("params.yaml", "train:\n  lr: 0.01\n  epochs: 3\nname: base\n")
                .write("show_params.py", "import os, shutil\nshutil.copy(os.environ['SORTIE_PARAMS_FILE'], 'seen.yaml')\n"
                        + "print('lr env', os.environ['SORTIE_PARAM_TRAIN_LR'])\n")
                .commit();
        project.write("notes.txt", "uncommitted work\n");
        TestProject.Result r = project.sortie("run", "-n", "nested", "-S", "train.lr=0.5");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("lr env 0.5");
        project.sortie("pull", "nested", "--to", tmp.resolve("out").toString());
        assertThat(Files.readString(tmp.resolve("out/seen.yaml"))).contains("lr: 0.5").contains("epochs: 3");
        assertThat(project.read("params.yaml")).contains("lr: 0.01");

        String head = project.git("rev-parse", "HEAD");
        Files.delete(project.dir.resolve("notes.txt"));
        assertThat(project.sortie("apply", "nested").code()).isZero();
        assertThat(project.read("params.yaml")).contains("lr: 0.5");
        assertThat(project.read("notes.txt")).isEqualTo("uncommitted work\n");
        assertThat(project.git("rev-parse", "HEAD")).isEqualTo(head);

        assertThat(project.sortie("branch", "nested", "exp-nested").code()).isZero();
        assertThat(project.git("branch", "--list", "exp-nested")).contains("exp-nested");
        assertThat(project.git("show", "exp-nested:params.yaml")).contains("lr: 0.5");
        assertThat(project.git("rev-parse", "--abbrev-ref", "HEAD").trim()).isNotEqualTo("exp-nested");
        assertThat(project.sortie("branch", "nested", "exp-nested").code()).isEqualTo(2);
    }

    @Test
    void concurrentRunsUseTheirOwnCopies() throws Exception {
        project.write("sortie.yaml", "run: python3 slow.py ${tag}\nparams: {tag: a}\nartifacts: [out.txt]\n")
                .write("slow.py", "import sys, time\nfor i in range(10):\n  open('out.txt','a').write(sys.argv[1])\n  time.sleep(0.1)\nprint('v=1')\n")
                .commit();
        project.sortie("init");
        Process a = project.spawn(tmp.resolve("a.log"), "run", "-n", "ca", "-S", "tag=a");
        Process b = project.spawn(tmp.resolve("b.log"), "run", "-n", "cb", "-S", "tag=b");
        assertThat(a.waitFor()).as(Files.readString(tmp.resolve("a.log"))).isZero();
        assertThat(b.waitFor()).as(Files.readString(tmp.resolve("b.log"))).isZero();
        project.sortie("pull", "ca", "--to", tmp.resolve("ca").toString());
        project.sortie("pull", "cb", "--to", tmp.resolve("cb").toString());
        assertThat(tmp.resolve("ca/out.txt")).hasContent("a".repeat(10));
        assertThat(tmp.resolve("cb/out.txt")).hasContent("b".repeat(10));
        assertThat(show()).hasSize(2);
    }

    @Test
    void sigkillOfSortieLeavesAnInterruptedExperimentWithEveryLoggedLine() throws Exception {
        project.write("sortie.yaml", "run: python3 long.py\ncheckpoints: ckpt/\ncheckpoint_interval: 600\n")
                .write("long.py", """
                        import os, time
                        os.makedirs('ckpt', exist_ok=True)
                        for i in range(100000):
                            print(f'loss={1.0/(i+1)} step={i}', flush=True)
                            open('ckpt/last.txt', 'w').write(str(i))
                            time.sleep(0.02)
                        """)
                .commit();
        project.sortie("init");
        Process p = project.spawn(tmp.resolve("cli.log"), "run", "-n", "victim");
        Path runs = project.dir.resolve(".sortie/runs");
        waitUntil("the run to log 30 lines", Duration.ofSeconds(60), () -> {
            try (var s = Files.walk(runs)) {
                Path log = s.filter(f -> f.toString().endsWith("attempt-1.log")).findFirst().orElse(null);
                return log != null && Files.readAllLines(log).size() >= 30;
            } catch (Exception e) {
                return false;
            }
        });
        long child;
        try (Ledger l = ledger()) {
            Experiment e = l.find("victim").orElseThrow();
            assertThat(e.status()).isEqualTo(ExperimentStatus.RUNNING);
            child = dev.sortie.core.model.ProcessLocation.parse(e.handle().value()).pid(); // a local run: its pids
        }
        p.destroyForcibly(); // SIGKILL: no shutdown hook, no goodbye
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the killed sortie is gone").isTrue();

        TestProject.Result status = project.sortie("status");
        assertThat(status.code()).isZero();
        assertThat(status.err()).contains("victim").contains("interrupted");
        try (Ledger l = ledger()) {
            Experiment e = l.find("victim").orElseThrow();
            assertThat(e.status()).isEqualTo(ExperimentStatus.INTERRUPTED);
            Path log = project.dir.resolve(".sortie/runs/" + e.id() + "/logs/attempt-1.log");
            List<String> lines = Files.readAllLines(log);
            // Every line is there, in order, and every metric line of the log is in the ledger.
            for (int i = 0; i < lines.size(); i++) {
                assertThat(lines.get(i)).endsWith(" step=" + i);
            }
            long metricLines = lines.stream().filter(s -> s.contains("loss=")).count();
            assertThat(l.series(e.id(), "loss")).hasSize((int) metricLines);
            assertThat(l.artifacts(e.id())).extracting(ArtifactRecord::path).contains("ckpt/last.txt");
        }
        assertThat(dev.sortie.agent.ProcessGroups.isAlive(child, null)).as("orphaned command is stopped").isFalse();
        assertThat(project.sortie("show", "--json").out()).contains("interrupted");
    }

    @Test
    void stopSendsSigtermToTheProcessGroupAndRetryResumesFromCheckpoints() throws Exception {
        project.write("sortie.yaml", "run: python3 resumable.py\ncheckpoints: ckpt/\ncheckpoint_interval: 1\n")
                .write("resumable.py", """
                        import os, signal, sys, time
                        os.makedirs('ckpt', exist_ok=True)
                        start = int(open('ckpt/step').read()) + 1 if os.environ.get('SORTIE_RESUMED') == '1' else 0
                        print('start', start, 'resumed', os.environ.get('SORTIE_RESUMED'), flush=True)
                        def term(*a):
                            print('got SIGTERM', flush=True); sys.exit(143)
                        signal.signal(signal.SIGTERM, term)
                        for i in range(start, start + 100000 if start == 0 else start + 3):
                            # a checkpoint is written whole or not at all (the SIGTERM handler may run between
                            # any two statements; open('w') alone would leave an empty file behind)
                            open('ckpt/step.tmp', 'w').write(str(i))
                            os.replace('ckpt/step.tmp', 'ckpt/step')
                            print(f'step={i} x={i}', flush=True)
                            time.sleep(0.05)
                        """)
                .commit();
        project.sortie("init");
        Process p = project.spawn(tmp.resolve("cli.log"), "run", "-n", "stoppable");
        waitUntil("the run to start", Duration.ofSeconds(60), () -> {
            try {
                return Files.readString(tmp.resolve("cli.log")).contains("step=20");
            } catch (Exception e) {
                return false;
            }
        });
        waitUntil("a checkpoint saved", Duration.ofSeconds(60), () -> {
            try (Ledger l = ledger()) {
                return l.find("stoppable").map(e -> !l.artifacts(e.id()).isEmpty()).orElse(false);
            }
        });
        TestProject.Result stop = project.sortie("stop", "stoppable", "--grace", "5s");
        assertThat(stop.code()).isZero();
        assertThat(p.waitFor()).isEqualTo(1);
        assertThat(Files.readString(tmp.resolve("cli.log"))).contains("got SIGTERM");
        try (Ledger l = ledger()) {
            Experiment e = l.find("stoppable").orElseThrow();
            assertThat(e.status()).isEqualTo(ExperimentStatus.STOPPED);
            assertThat(e.exitCode()).isEqualTo(143);
        }
        TestProject.Result retry = project.sortie("retry", "stoppable");
        assertThat(retry.code()).isZero();
        assertThat(retry.out()).contains("resumed 1").doesNotContain("start 0");
        try (Ledger l = ledger()) {
            Experiment e = l.find("stoppable").orElseThrow();
            assertThat(e.status()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(e.attempt()).isEqualTo(2);
        }
        assertThat(project.sortie("logs", "stoppable", "--attempt", "1").out()).contains("got SIGTERM");
    }

    @Test
    void timeoutsFailTheRun() throws Exception {
        TestProject.Result r = project.sortie("run", "-n", "slow", "--timeout", "1s", "--", "sleep", "30");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("timed out");
    }

    @Test
    void retryOfAFailureStartsClean() throws Exception {
        Path flag = tmp.resolve("second-time");
        project.write("flaky.py", "import os, sys\nprint('m=1')\nif not os.path.exists(sys.argv[1]):\n  open(sys.argv[1],'w').close(); sys.exit(3)\n").commit();
        assertThat(project.sortie("run", "-n", "flaky", "--", "python3", "flaky.py", flag.toString()).code()).isEqualTo(1);
        assertThat(project.sortie("retry", "flaky").code()).isZero();
        JsonNode row = show("--columns", "name,status,attempt").get(0);
        assertThat(row.get("status").asText()).isEqualTo("succeeded");
        assertThat(row.get("attempt").asInt()).isEqualTo(2);
        assertThat(project.sortie("remove", "flaky").code()).isZero();
        assertThat(show()).isEmpty();
        assertThat(project.git("for-each-ref", "refs/sortie/")).isEmpty();
    }

    @Test
    void initMakesAProjectAndRunWorksWithoutGit() throws Exception {
        Path plain = tmp.resolve("plain");
        Files.createDirectories(plain);
        TestProject.Result init = TestProject.plain(plain).sortie("init");
        assertThat(init.code()).isZero();
        assertThat(plain.resolve("sortie.yaml")).exists();
        assertThat(plain.resolve(".sortie/.gitignore")).exists();
        Files.writeString(plain.resolve("train.py"), "import sys\nprint('loss=' + sys.argv[2])\n");
        TestProject.Result run = TestProject.plain(plain).sortie("run", "-S", "lr=0.3");
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).contains("loss=");
    }
}
