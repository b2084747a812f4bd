package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.executor.ssh.SshdFixture;
import dev.sortie.ledger.SqliteLedger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pool of two "remote" hosts end to end: two real OpenSSH sshd on loopback (one named ssh executor, one inline
 * host), the real agent on each, one slot per host. Each run proves it had its slot to itself: it makes a marker
 * folder named after its host and slot, which fails if another run holds it.
 */
@Tag("integration")
class PoolRunTest {
    static SshHosts hosts;
    static SshdFixture h1;
    static SshdFixture h2;

    @TempDir
    Path tmp;
    TestProject project;
    Path marks;
    Path remote1;
    Path remote2;

    @BeforeAll
    static void startHosts() throws Exception {
        hosts = SshHosts.start(2);
        h1 = hosts.get(0);
        h2 = hosts.get(1);
    }

    @AfterAll
    static void stopHosts() throws Exception {
        if (hosts != null) {
            hosts.close();
        }
    }

    @BeforeEach
    void setUp(TestInfo test) throws Exception {
        String name = test.getTestMethod().orElseThrow().getName();
        // each test its own remote_dir (and so its own slot locks) on each host
        remote1 = Files.createDirectories(h1.hostDir().resolve(name)).toRealPath();
        remote2 = Files.createDirectories(h2.hostDir().resolve(name)).toRealPath();
        marks = Files.createDirectories(tmp.resolve("marks"));
        project = new TestProject(tmp.resolve("proj"));
        project.write("check.sh", """
                        here=$(pwd -P)
                        case "$here" in
                          %s/*) h=h1 ;;
                          %s/*) h=h2 ;;
                          *) echo "not on a pool host: $here"; exit 4 ;;
                        esac
                        mark="%s/$h-slot$SORTIE_SLOT"
                        mkdir "$mark" || { echo "two runs at once in slot $SORTIE_SLOT of $h"; exit 3; }
                        trap 'rmdir "$mark"; exit 143' TERM
                        echo "ran on $h slot=$SORTIE_SLOT host=$SORTIE_HOST n=$1"
                        sleep "$2"
                        rmdir "$mark"
                        """.formatted(remote1, remote2, marks))
                .write("sortie.yaml", """
                        name: pooled
                        run: sh check.sh ${n} ${pause}
                        params: {n: 0, pause: 1}
                        """)
                .write(".sortie/config.yaml", "executors:\n" + SshHosts.executor("box1", h1, remote1) + """
                          gpus:
                            type: pool
                            slots: 1
                            lost_after: 30s
                            hosts:
                              - box1
                              - %s
                        """.formatted(SshHosts.inlineHost(h2, remote2)))
                .commit();
    }

    /**
     * {@code sortie ARGS} as a process of its own that probes a down host and retries a slot held elsewhere every
     * second (the product's 5 s and 10 s, through their variables): what these tests wait for, sooner.
     */
    Process spawn(Path out, String... args) throws java.io.IOException {
        ProcessBuilder pb = project.processBuilder(out, args);
        pb.environment().put("SORTIE_POOL_PROBE_EVERY_S", "1");
        pb.environment().put("SORTIE_POOL_BUSY_RETRY_S", "1");
        return pb.start();
    }

    Ledger ledger() {
        return SqliteLedger.open(project.dir.resolve(".sortie/ledger.db"));
    }

    List<Experiment> all() {
        try (Ledger l = ledger()) {
            return l.list();
        }
    }

    String log(Experiment e) throws Exception {
        return Files.readString(project.dir.resolve(".sortie/runs/" + e.id() + "/logs/attempt-1.log"), StandardCharsets.UTF_8);
    }

    static boolean ranOn(Experiment e, SshdFixture host) {
        return e.handle() != null && e.handle().host().contains("127.0.0.1:" + host.port);
    }

    @Test
    void aQueueDrainsOverBothHostsOneRunPerSlot() throws Exception {
        TestProject.Result q = project.sortie("run", "--queue", "-S", "n=1,2,3,4,5,6", "-S", "pause=1");
        assertThat(q.code()).as(q.err()).isZero();
        TestProject.Result r = project.sortie("queue", "start", "-e", "gpus", "-j", "4");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        List<Experiment> done = all();
        assertThat(done).hasSize(6).allSatisfy(e -> assertThat(e.status()).as(e.name() + ": " + e.error()).isEqualTo(ExperimentStatus.SUCCEEDED));
        assertThat(done).anySatisfy(e -> assertThat(ranOn(e, h1)).isTrue());
        assertThat(done).anySatisfy(e -> assertThat(ranOn(e, h2)).isTrue());
        for (Experiment e : done) {
            String log = log(e);
            assertThat(log).contains("slot=0 host=127.0.0.1").contains(ranOn(e, h1) ? "ran on h1" : "ran on h2");
        }
        try (var left = Files.list(marks)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void slotsHeldByAnotherSortieProcessAreWaitedFor() throws Exception {
        // two detached runs fill both slots; each sortie process knows only its own runs, the agents' slot locks tell the rest
        TestProject.Result d1 = project.sortie("run", "-e", "gpus", "--detach", "-n", "d1", "-S", "n=1", "-S", "pause=300");
        assertThat(d1.code()).as(d1.err()).isZero();
        TestProject.Result d2 = project.sortie("run", "-e", "gpus", "--detach", "-n", "d2", "-S", "n=2", "-S", "pause=300");
        assertThat(d2.code()).as(d2.err()).isZero();
        List<Experiment> detached = all();
        assertThat(detached).hasSize(2);
        assertThat(detached).anySatisfy(e -> assertThat(ranOn(e, h1)).isTrue());
        assertThat(detached).anySatisfy(e -> assertThat(ranOn(e, h2)).isTrue());

        // a third run (its own process) finds both slots held, says so once, and waits...
        Path out = tmp.resolve("third.out");
        Process third = spawn(out, "run", "-e", "gpus", "-n", "third", "-S", "n=3", "-S", "pause=0");
        try {
            RunLifecycleTest.waitForText(out, "[sortie] waiting for a free slot on pool gpus: 2 of 2 busy", Duration.ofSeconds(60));
            // ...until one of them is stopped and its slot frees up
            assertThat(project.sortie("stop", "d1").code()).isZero();
            assertThat(third.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        } finally {
            third.destroyForcibly().waitFor();
        }
        String printed = Files.readString(out);
        assertThat(third.exitValue()).as(printed).isZero();
        assertThat(printed).containsOnlyOnce("[sortie] waiting for a free slot on pool gpus").contains("n=3");
        assertThat(project.sortie("stop", "d2").code()).isZero();
        assertThat(all()).hasSize(3).allSatisfy(e -> assertThat(e.status()).as(e.name())
                .isEqualTo(e.name().equals("third") ? ExperimentStatus.SUCCEEDED : ExperimentStatus.STOPPED));
    }

    @Test
    void aHostThatIsDownIsSkippedAndRejoinsWhenItComesBack() throws Exception {
        h1.kill();
        try {
            TestProject.Result q = project.sortie("run", "--queue", "-S", "n=1,2,3,4", "-S", "pause=3");
            assertThat(q.code()).as(q.err()).isZero();
            Path out = tmp.resolve("worker.out");
            Process worker = spawn(out, "queue", "start", "-e", "gpus", "-j", "2");
            try {
                RunLifecycleTest.waitUntil("a run on the host that is up", Duration.ofSeconds(60), () -> Files.exists(marks.resolve("h2-slot0")));
                h1.restart();
                assertThat(worker.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).as("the worker drains the queue").isTrue();
            } finally {
                worker.destroyForcibly().waitFor();
            }
            String printed = Files.readString(out, StandardCharsets.UTF_8);
            assertThat(worker.exitValue()).as(printed).isZero();
            List<Experiment> done = all();
            assertThat(done).hasSize(4).allSatisfy(e -> assertThat(e.status()).as(e.name() + ": " + e.error()).isEqualTo(ExperimentStatus.SUCCEEDED));
            assertThat(done).as("box1 rejoined the pool").anySatisfy(e -> assertThat(ranOn(e, h1)).isTrue());
        } finally {
            if (!h1.isRunning()) {
                h1.restart();
            }
        }
    }

    @Test
    void aQueueWorkerSaysItWaitsForASlotAndWhichHostIsDownAndCountsTheWaitingRuns() throws Exception {
        h1.kill();
        try {
            TestProject.Result q = project.sortie("run", "--queue", "-S", "n=1,2,3", "-S", "pause=3");
            assertThat(q.code()).as(q.err()).isZero();
            Path out = tmp.resolve("worker.out");
            Process worker = spawn(out, "queue", "start", "-e", "gpus", "-j", "2");
            try {
                try {
                    RunLifecycleTest.waitForText(out, "[sortie] waiting for a free slot on pool gpus: 1 of 1 busy, 1 host down (box1: ",
                            Duration.ofSeconds(60));
                    // the third run is claimed ahead by the worker ("preparing") or waits too: every run is counted, in
                    // whichever state the line finds it (the run on box2 launching, running or, under load, done: the
                    // worker prints at most a line every 2 s)
                    RunLifecycleTest.waitForText(out, " waiting for a slot, 0 queued", Duration.ofSeconds(30));
                    Matcher counts = Pattern.compile("queue: (\\d+) done \\(0 failed\\), (\\d+) running, (?:(\\d+) preparing, )?(\\d+) waiting for a slot, 0 queued")
                            .matcher(Files.readString(out, StandardCharsets.UTF_8));
                    assertThat(counts.find()).isTrue();
                    int preparing = counts.group(3) == null ? 0 : Integer.parseInt(counts.group(3));
                    assertThat(Integer.parseInt(counts.group(4))).as("runs waiting for a slot").isBetween(1, 2);
                    assertThat(Integer.parseInt(counts.group(1)) + Integer.parseInt(counts.group(2)) + preparing + Integer.parseInt(counts.group(4)))
                            .as("every run counted once").isEqualTo(3);
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; the worker printed:\n" + Files.readString(out), e);
                }
                h1.restart();
                assertThat(worker.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).as("the worker drains the queue").isTrue();
            } finally {
                worker.destroyForcibly().waitFor();
            }
            String printed = Files.readString(out, StandardCharsets.UTF_8);
            assertThat(worker.exitValue()).as(printed).isZero();
            // said once per change, not once per waiting run
            List<String> waits = printed.lines().filter(l -> l.contains("waiting for a free slot")).toList();
            for (int i = 1; i < waits.size(); i++) {
                assertThat(waits.get(i)).as(printed).isNotEqualTo(waits.get(i - 1));
            }
            assertThat(all()).hasSize(3).allSatisfy(e -> assertThat(e.status()).as(e.name() + ": " + e.error()).isEqualTo(ExperimentStatus.SUCCEEDED));
        } finally {
            if (!h1.isRunning()) {
                h1.restart();
            }
        }
    }

    @Test
    void aHostThatDiesMidRunLosesItsRunWhichIsRequeuedOntoTheOtherHostAndResumed() throws Exception {
        // the run keeps a checkpoint (its step); a resumed attempt starts after it
        project.write("steps.sh", """
                        mkdir -p ckpt
                        i=0
                        if [ -f ckpt/step ]; then i=$(( $(cat ckpt/step) + 1 )); echo "resumed at $i"; fi
                        while [ "$i" -lt "$1" ]; do echo "step=$i loss=$i"; echo "$i" > ckpt/step.tmp; mv ckpt/step.tmp ckpt/step; i=$((i + 1)); sleep 0.5; done
                        """)
                .write("sortie.yaml", """
                        name: pooled
                        run: sh steps.sh ${steps}
                        params: {steps: 10}
                        checkpoints: ckpt/
                        checkpoint_interval: 1s
                        retries: 2
                        """)
                .write(".sortie/config.yaml", """
                        executors:
                          gpus:
                            type: pool
                            slots: 1
                            lost_after: 3s
                            keepalive: 1s
                            connect_timeout: 2s
                            hosts:
                              - %s
                              - %s
                        """.formatted(SshHosts.inlineHost(h1, remote1), SshHosts.inlineHost(h2, remote2)))
                .commit();
        TestProject.Result q = project.sortie("run", "--queue", "-n", "a", "-S", "steps=10");
        assertThat(q.code()).as(q.err()).isZero();
        Path out = tmp.resolve("worker.out");
        Process worker = spawn(out, "queue", "start", "-e", "gpus", "-j", "1");
        SshdFixture victim = null;
        try {
            RunLifecycleTest.waitUntil("a few steps on a host", Duration.ofSeconds(60), () -> {
                try (Ledger l = ledger()) {
                    return l.list().get(0).handle() != null && l.series(l.list().get(0).id(), "loss").size() >= 4;
                }
            });
            Experiment running = all().get(0);
            victim = ranOn(running, h1) ? h1 : h2;
            victim.kill();
            assertThat(worker.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).as("the worker drains the queue").isTrue();
        } finally {
            worker.destroyForcibly().waitFor();
            if (victim != null && !victim.isRunning()) {
                victim.restart();
            }
        }
        String printed = Files.readString(out, StandardCharsets.UTF_8);
        Experiment done = all().get(0);
        assertThat(done.status()).as(printed + done.error()).isEqualTo(ExperimentStatus.SUCCEEDED);
        assertThat(done.attempt()).isEqualTo(2);
        assertThat(ranOn(done, victim == h1 ? h2 : h1)).as("the second attempt ran on the other host").isTrue();
        String second = Files.readString(project.dir.resolve(".sortie/runs/" + done.id() + "/logs/attempt-2.log"), StandardCharsets.UTF_8);
        assertThat(second).contains("resumed at").contains("step=9");
        try (Ledger l = ledger()) {
            assertThat(l.series(done.id(), "loss")).hasSize(10);
        }
    }

    @Test
    void aWorkerKilledMidDrainLeavesItsRunsGoingAndTheNextWorkerCollectsThem() throws Exception {
        TestProject.Result q = project.sortie("run", "--queue", "-S", "n=1,2,3", "-S", "pause=4");
        assertThat(q.code()).as(q.err()).isZero();
        Path out = tmp.resolve("worker1.out");
        Process first = spawn(out, "queue", "start", "-e", "gpus", "-j", "2");
        try {
            RunLifecycleTest.waitUntil("two runs on the hosts", Duration.ofSeconds(60),
                    () -> Files.exists(marks.resolve("h1-slot0")) && Files.exists(marks.resolve("h2-slot0")));
        } finally {
            first.destroyForcibly().waitFor(); // SIGKILL: no chance to detach or record anything
        }
        // two on the hosts, and the third claimed ahead by the dead worker
        assertThat(all().stream().filter(e -> e.status() == ExperimentStatus.RUNNING)).hasSize(3);
        // the runs go on on their hosts; the next worker follows them to their end and drains the rest
        TestProject.Result second = project.sortie("queue", "start", "-e", "gpus", "-j", "2");
        assertThat(second.code()).as(second.out() + second.err()).isZero();
        List<Experiment> done = all();
        assertThat(done).hasSize(3).allSatisfy(e -> {
            assertThat(e.status()).as(e.name() + ": " + e.error()).isEqualTo(ExperimentStatus.SUCCEEDED);
            assertThat(e.attempt()).as("ran once, never re-run").isEqualTo(1);
        });
        for (Experiment e : done) {
            assertThat(log(e)).contains("n=");
        }
    }

    /**
     * A host with 4 GPUs runs four 1-GPU experiments at once, each with its own CUDA_VISIBLE_DEVICES. The GPUs are
     * a fake {@code nvidia-smi} first on the host's PATH (no GPU machine here): it answers the host probe's query
     * and the system sampler's with four GPUs.
     */
    @Test
    void aFourGpuHostRunsFourOneGpuExperimentsEachWithItsOwnDevice() throws Exception {
        Path fakeBin = Files.createDirectories(tmp.resolve("fake-bin"));
        Path smi = fakeBin.resolve("nvidia-smi");
        Files.writeString(smi, """
                #!/bin/sh
                q=""
                for a in "$@"; do case "$a" in --query-gpu=*) q="${a#--query-gpu=}" ;; esac; done
                [ -n "$q" ] || { echo "NVIDIA-SMI fake"; exit 0; }
                for i in 0 1 2 3; do
                  line=""
                  for f in $(echo "$q" | tr ',' ' '); do
                    case "$f" in index) v=$i ;; name) v="Fake GPU" ;; memory.total) v=16384 ;; *) v=0 ;; esac
                    line="${line:+$line, }$v"
                  done
                  echo "$line"
                done
                """);
        smi.toFile().setExecutable(true);
        SshdFixture gpuHost = hosts.add(java.util.Map.of("PATH", fakeBin + ":/usr/local/bin:/usr/bin:/bin"));
        Path remote = Files.createDirectories(gpuHost.hostDir().resolve("gpus")).toRealPath();
        Path running = Files.createDirectories(tmp.resolve("running"));
        project.write("gpu.sh", """
                        echo "devices=$CUDA_VISIBLE_DEVICES slot=$SORTIE_SLOT order=$CUDA_DEVICE_ORDER"
                        touch "%s/$CUDA_VISIBLE_DEVICES"
                        i=0
                        while [ "$(ls %s | wc -l)" -lt 4 ] && [ "$i" -lt "$1" ]; do sleep 0.1; i=$((i + 1)); done
                        echo "saw $(ls %s | wc -l) running"
                        """.formatted(running, running, running))
                .write("sortie.yaml", """
                        name: gpu
                        run: sh gpu.sh ${pause}
                        params: {pause: 600}
                        """)
                .write(".sortie/config.yaml", """
                        executors:
                          four:
                            type: pool
                            hosts: [%s]
                        """.formatted(SshHosts.inlineHost(gpuHost, remote)))
                .commit();
        TestProject.Result q = project.sortie("run", "--queue", "-S", "pause=600,601,602,603");
        assertThat(q.code()).as(q.err()).isZero();
        TestProject.Result r = project.sortie("queue", "start", "-e", "four", "-j", "4");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        List<Experiment> done = all();
        assertThat(done).hasSize(4).allSatisfy(e -> assertThat(e.status()).as(e.name() + ": " + e.error()).isEqualTo(ExperimentStatus.SUCCEEDED));
        java.util.Set<String> devices = new java.util.TreeSet<>();
        for (Experiment e : done) {
            String log = log(e);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("devices=(\\S*) slot=(\\d+) order=PCI_BUS_ID").matcher(log);
            assertThat(m.find()).as(log).isTrue();
            assertThat(m.group(1)).as("one GPU, the slot's").isEqualTo(m.group(2));
            devices.add(m.group(1));
            // each run waited (up to a minute) until all four were running: four slots at once
            assertThat(log).contains("saw 4 running");
        }
        assertThat(devices).containsExactly("0", "1", "2", "3");
    }
}
