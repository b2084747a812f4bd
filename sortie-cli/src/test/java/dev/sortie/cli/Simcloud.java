package dev.sortie.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Instance;

/**
 * The simulated cloud of testkit/simcloud (moto's EC2 on loopback, a real host with its own sshd per instance, AWS's
 * metadata mock), started through its setup script's venv as its README says, stopped on close (and with this JVM:
 * --watch-stdin). Gives the environment that points the AWS SDK at it and an EC2 client for the test's own checks.
 */
final class Simcloud implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    final Process process;
    final JsonNode ready;
    final Ec2Client ec2;
    final String subnet;
    /** The first two octets of the VPC's addresses, with the dot after them ("127.42."). */
    final String vpcPrefix;

    private Simcloud(Process process, JsonNode ready) {
        this.process = process;
        this.ready = ready;
        this.ec2 = Ec2Client.builder().region(Region.US_EAST_1).endpointOverride(URI.create(ready.get("endpoint_url").asText()))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                .httpClientBuilder(UrlConnectionHttpClient.builder()).build();
        // A VPC in 127/8: instances get loopback private addresses (connect with --private-ip). Its second octet is
        // drawn per cloud: two simulated clouds on one machine (two test classes, a test run beside a benchmark)
        // with the same VPC would give two hosts one address, and the second host's sshd could not have its port 22.
        this.vpcPrefix = "127." + java.util.concurrent.ThreadLocalRandom.current().nextInt(20, 100) + ".";
        String vpc = ec2.createVpc(r -> r.cidrBlock(vpcPrefix + "0.0/16")).vpc().vpcId();
        this.subnet = ec2.createSubnet(r -> r.vpcId(vpc).cidrBlock(vpcPrefix + "1.0/24")).subnet().subnetId();
    }

    static Simcloud start(Path stateDir) throws Exception {
        Path repo = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
        Path sim = repo.resolve("testkit/simcloud");
        Files.createDirectories(stateDir);
        Process p = new ProcessBuilder("bash", "-c", "eval \"$(\"$0\"/setup.sh)\" && exec \"$VENV/bin/python\" \"$0\"/simcloud.py"
                + " --state-dir \"$1\" --watch-stdin", sim.toString(), stateDir.toString())
                .redirectErrorStream(true).redirectOutput(stateDir.resolve("simcloud.log").toFile()).start();
        Path readyFile = stateDir.resolve("ready.json");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5); // the first setup installs moto and the metadata mock
        while (!Files.exists(readyFile)) {
            if (!p.isAlive()) {
                throw new IllegalStateException("simcloud exited with " + p.exitValue() + ": " + Files.readString(stateDir.resolve("simcloud.log")));
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("simcloud not ready: " + Files.readString(stateDir.resolve("simcloud.log")));
            }
            Thread.sleep(100);
        }
        return new Simcloud(p, JSON.readTree(readyFile.toFile()));
    }

    /** The environment that points the SDK's default chain at the simulated cloud. */
    Map<String, String> awsEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        ready.get("aws_env").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        env.put("AWS_EC2_METADATA_DISABLED", "true"); // never the instance role lookup on this machine
        return env;
    }

    /** Every instance moto knows, terminated ones included. */
    List<Instance> instances() {
        return ec2.describeInstancesPaginator(r -> { }).reservations().stream().flatMap(r -> r.instances().stream()).toList();
    }

    /**
     * A sortie process's environment for this cloud: its endpoint and test credentials and nothing of the test run's
     * own AWS_ variables or test pause points; config (keys, known hosts) and cache (prices) under {@code home}.
     */
    void environ(ProcessBuilder pb, Path home) {
        pb.environment().keySet().removeIf(k -> k.startsWith("AWS_") || k.startsWith("SORTIE_TEST_"));
        pb.environment().putAll(awsEnv());
        pb.environment().put("XDG_CONFIG_HOME", home.resolve("config").toString());
        pb.environment().put("XDG_CACHE_HOME", home.resolve("cache").toString());
    }

    /** Terminates whatever a test left running (so the next one starts clean), then fails if there was any. */
    void assertNothingLeftRunning() {
        List<String> left = alive().stream().map(Instance::instanceId).toList();
        if (!left.isEmpty()) {
            ec2.terminateInstances(r -> r.instanceIds(left));
        }
        org.assertj.core.api.Assertions.assertThat(left).as("instances left running").isEmpty();
    }

    /**
     * Runs {@code sortie ARGS} in {@code project} against this cloud ({@link #environ}, config and cache under
     * {@code home}), with {@code env} on top (a null value takes the variable away), and waits for it to end.
     */
    TestProject.Result sortie(TestProject project, Path home, Map<String, String> env, String... args) throws Exception {
        Path out = Files.createTempFile(home, "out", ".txt");
        ProcessBuilder pb = project.processBuilder(out, args);
        environ(pb, home);
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        return finish(pb.start(), out, args);
    }

    /**
     * {@code env} on top of an environment with no server and no login of the test run's (a login file under
     * {@code home} that is not there), for tests whose sortie must use its own project's ledger.
     */
    static Map<String, String> withoutLogin(Path home, Map<String, String> env) {
        Map<String, String> all = new java.util.HashMap<>();
        all.put("SORTIE_SERVER", null);
        all.put("SORTIE_TOKEN", null);
        all.put("SORTIE_CREDENTIALS", home.resolve("no-login").toString());
        all.putAll(env);
        return all;
    }

    /** Waits (5 minutes at most) for a started sortie to end; prints and returns what it said. */
    static TestProject.Result finish(Process p, Path out, String... args) throws Exception {
        p.getOutputStream().close();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("sortie " + String.join(" ", args) + " did not finish: " + Files.readString(out));
        }
        String text = Files.readString(out, java.nio.charset.StandardCharsets.UTF_8);
        System.err.println("$ sortie " + String.join(" ", args) + "  -> " + p.exitValue() + "\n" + text);
        return new TestProject.Result(p.exitValue(), text, text);
    }

    List<Instance> alive() {
        return ec2.describeInstancesPaginator(r -> r.filters(Filter.builder().name("instance-state-name").values("pending", "running").build()))
                .reservations().stream().flatMap(r -> r.instances().stream()).toList();
    }

    /** The control API's view of one VM. */
    JsonNode vm(String id) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ready.get("control_url").asText() + "/vms/" + id))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    /** A call of the control API (faults, pricing, spot prices, the call log): its JSON answer; fails unless 200. */
    /**
     * {@code POST /vms/ID/ACTION} on an instance whose launch was only just asked for: simcloud's watcher makes its VM
     * a moment after the instance exists, and answers 404 until then (a test once got there first), so this waits up
     * to 30 s for the VM.
     */
    void onNewVm(String instanceId, String action, String json) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsMatching(e -> e instanceof IOException && e.getMessage().contains("no VM for instance"))
                .until(() -> {
                    control("POST", "/vms/" + instanceId + "/" + action, json);
                    return true;
                });
    }

    JsonNode control(String method, String path, String json) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ready.get("control_url").asText() + path))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("simcloud " + method + " " + path + ": " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
    }

    @Override
    public void close() throws Exception {
        ec2.close();
        try {
            HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ready.get("control_url").asText() + "/shutdown"))
                    .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            // it may be gone already
        }
        process.getOutputStream().close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
