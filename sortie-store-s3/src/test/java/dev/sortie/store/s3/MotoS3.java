package dev.sortie.store.s3;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * moto's S3 in server mode on loopback: a real HTTP server speaking S3's REST API, from the simulated cloud's venv
 * ({@code testkit/simcloud/setup.sh} makes it; this runs it, idempotent). moto is an emulator of S3, not S3. Outside CI
 * a machine that cannot make the venv skips the tests; in CI ({@code CI} set) they fail.
 */
public final class MotoS3 implements AutoCloseable {
    /** What the AWS SDK reads from the environment (moto takes any credentials). */
    public static final Map<String, String> CREDENTIALS = Map.of(
            "AWS_ACCESS_KEY_ID", "testing", "AWS_SECRET_ACCESS_KEY", "testing", "AWS_REGION", "us-east-1");

    private final Process process;
    private final URI endpoint;

    private MotoS3(Process process, URI endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    public static MotoS3 start() throws Exception {
        Path python = venvPython();
        Path script = Files.createTempFile("moto_s3", ".py");
        try (InputStream in = MotoS3.class.getResourceAsStream("moto_s3.py")) {
            Files.write(script, in.readAllBytes());
        }
        ProcessBuilder pb = new ProcessBuilder(python.toString(), script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith("MOTO_READY ")) {
                        return line.substring("MOTO_READY ".length()).trim();
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        });
        String hostPort;
        try {
            hostPort = ready.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            hostPort = null;
        }
        if (hostPort == null) {
            p.destroyForcibly();
            throw new IllegalStateException("moto did not start (see its output above)");
        }
        return new MotoS3(p, URI.create("http://" + hostPort));
    }

    /** The simulated cloud's venv, made (idempotently) by its setup script. */
    private static Path venvPython() throws Exception {
        Path repo = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
        Path setup = repo.resolve("testkit/simcloud/setup.sh");
        Process p = new ProcessBuilder("bash", setup.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean ok = p.waitFor(15, TimeUnit.MINUTES) && p.exitValue() == 0;
        String venv = out.lines().filter(l -> l.startsWith("VENV=")).map(l -> l.substring(5)).findFirst().orElse(null);
        Path python = venv == null ? null : Path.of(venv, "bin", "python");
        boolean usable = ok && python != null && Files.isExecutable(python);
        Assumptions.assumeTrue(usable || System.getenv("CI") != null, "the simulated cloud's venv (moto) cannot be made here");
        if (!usable) {
            throw new IllegalStateException(setup + " failed: " + out);
        }
        return python;
    }

    public URI endpoint() {
        return endpoint;
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close(); // the server stops when its stdin closes
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
        }
    }
}
