package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** How the server starts and stops: HTTPS by configuration, and SIGTERM with a run in flight. */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ServerLifecycleTest {
    @TempDir
    Path tmp;

    @Test
    void withAKeystoreItServesHttpsOnlyAndTheKeystorePasswordComesFromTheEnvironment() throws Exception {
        Path keystore = tmp.resolve("server.p12");
        String password = "kspw-" + System.nanoTime();
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "sortie", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-dname", "CN=localhost",
                "-ext", "san=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", password, "-keypass", password).redirectErrorStream(true).start();
        String kt = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).as(kt).isZero();

        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            trust.load(in, password.toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        HttpClient client = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(10)).build();

        try (ServerProcess server = ServerProcess.start(tmp.resolve("tls"), Map.of("SORTIE_TEST_KS_PW", password), client,
                "--workers", "0", "--tls-keystore", keystore.toString(), "--tls-password-env", "SORTIE_TEST_KS_PW")) {
            assertThat(server.url).startsWith("https://127.0.0.1:");
            assertThat(server.get("/api/v1/health", null).statusCode()).isEqualTo(200);
            String token = server.token("tls", false);
            assertThat(server.get("/api/v1/queue", token).statusCode()).isEqualTo(200);
            // no plain HTTP beside it
            HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create(server.url.replace("https://", "http://") + "/api/v1/health"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(java.io.IOException.class);
            assertThat(server.logsAndOutput()).doesNotContain(password);
        }
        // a keystore without its password variable is a usage error, before anything listens
        ServerProcess.Result noPw = ServerProcess.sortie(tmp.resolve("tls2"), "server", "--port", "0", "--tls-keystore", keystore.toString(),
                "--tls-password-env", "SORTIE_TEST_NOT_SET");
        assertThat(noPw.code()).as(noPw.err()).isEqualTo(2);
        assertThat(noPw.err()).contains("SORTIE_TEST_NOT_SET");
    }

    @Test
    void sigtermStopsClaimingPutsTheRunItCutShortBackInTheQueueAndTheNextServerRunsIt() throws Exception {
        Path dir = tmp.resolve("server");
        Path gate = tmp.resolve("gate");
        String token;
        String longId;
        String waitingId;
        try (ServerProcess server = ServerProcess.start(dir, "--workers", "1")) {
            token = server.token("ops", false);
            // runs until the gate exists: the first attempt is cut short by the stop, the next one (gate made) ends
            longId = server.postJson("/api/v1/experiments", token, "{\"command\": [\"sh\", \"-c\", \"echo started; while [ ! -e \\\"$0\\\" ];"
                    + " do sleep 0.1; done; echo done\", \"" + gate + "\"], \"executor\": \"local\"}", 201).get("id").asText();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                    .until(() -> server.get("/api/v1/experiments/" + longId + "/logs", token).body().contains("started"));
            waitingId = server.postJson("/api/v1/experiments", token, "{\"command\": [\"echo\", \"second\"], \"executor\": \"local\"}", 201)
                    .get("id").asText();
            long t0 = System.nanoTime();
            assertThat(server.stop()).as(server.serverOutput()).isZero();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(45));
            assertThat(server.serverOutput()).contains("sortie server: stopping");
        }
        Files.writeString(gate, "");
        try (ServerProcess next = ServerProcess.start(dir, "--workers", "0")) {
            JsonNode cut = next.json("/api/v1/experiments/" + longId, token);
            assertThat(cut.get("status").asText()).as(cut.toString()).isEqualTo("queued");
            assertThat(cut.get("attempt").asInt()).isEqualTo(2);
            assertThat(cut.get("attempts").get(0).get("status").asText()).isEqualTo("interrupted");
            JsonNode waiting = next.json("/api/v1/experiments/" + waitingId, token);
            assertThat(waiting.get("status").asText()).isEqualTo("queued");
            assertThat(waiting.get("attempt").asInt()).as("never started").isEqualTo(1);
        }
        try (ServerProcess again = ServerProcess.start(dir, "--workers", "1")) {
            for (String id : List.of(longId, waitingId)) {
                again.awaitStatus(id, token, "succeeded");
            }
            assertThat(again.get("/api/v1/experiments/" + longId + "/logs", token).body()).contains("done");
        }
    }
}
