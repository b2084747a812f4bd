package dev.sortie.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web UI in a real headless Chromium against a real {@code sortie server} process whose workers run what is
 * queued on its local executor: sign in, the table (filter, sort, columns, compare), a live run's chart and log,
 * a web run end to end, stop from the page, and hostile params shown as text. Screenshots go to
 * target/screenshots/. Skips without Chromium outside CI; fails without it under CI=1 (see HeadlessChromium).
 */
@Tag("integration")
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class WebUiTest {
    @TempDir
    static Path tmp;
    @StartedServer(args = {"--workers", "2"})
    static ServerProcess server;
    @ServerToken("web")
    static String token;
    static ChromeDriver browser;

    @BeforeAll
    static void start() throws Exception {
        browser = HeadlessChromium.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
    }

    @AfterEach
    void screenshot(TestInfo info) throws Exception {
        if (browser != null) {
            HeadlessChromium.screenshot(browser, info.getTestMethod().orElseThrow().getName());
        }
    }

    private static WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(100));
    }

    /** Opens the UI on {@code fragment} signed in with {@code token} through the sign-in form. */
    private static void signedIn(String fragment) {
        browser.get(server.url + "/#/signin");
        WebElement input = waitUpTo(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
        input.clear();
        input.sendKeys(token);
        browser.findElement(By.id("sign-in")).click();
        waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.id("experiments")));
        browser.get(server.url + "/#/" + fragment);
    }

    private static JsonNode queue(String json) throws Exception {
        return server.postJson("/api/v1/experiments", token, json, 201);
    }

    private static String status() {
        return browser.findElement(By.id("main")).getAttribute("data-status");
    }

    private static List<String> column(String column) {
        return texts("#experiments tbody td[data-column='" + column + "']");
    }

    /** The text of each element {@code css} finds, read in one script: the table may be redrawn between two reads. */
    @SuppressWarnings("unchecked")
    private static List<String> texts(String css) {
        return (List<String>) browser.executeScript("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)", css);
    }

    @Test
    void pagesCarryAContentSecurityPolicyAndNeedNoTokenWhileTheApiDoes() throws Exception {
        for (String page : List.of("/", "/app.js", "/style.css", "/webjars/uplot/1.6.30/dist/uPlot.esm.js")) {
            HttpResponse<String> r = server.get(page, null);
            assertThat(r.statusCode()).as(page).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Security-Policy")).as(page).hasValueSatisfying(csp ->
                    assertThat(csp).contains("script-src 'self'").doesNotContain("unsafe-inline").doesNotContain("unsafe-eval"));
        }
        assertThat(server.get("/", null).body()).contains("<script type=\"module\" src=\"/app.js\"></script>").doesNotContain("<script>");
        assertThat(server.get("/api/v1/experiments", null).statusCode()).isEqualTo(401);
    }

    @Test
    void comparingExperimentsDrawsAChartPerMetricWithAllOfThemFromOneRequestEach() throws Exception {
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            // 40 steps of loss and acc; the second run has a spike in its loss at step 17
            String script = "for s in $(seq 1 40); do l=$((100 - s)); [ " + i + " = 1 ] && [ $s = 17 ] && l=900; echo step=$s loss=$l acc=$s; done";
            String id = queue("{\"command\": [\"sh\", \"-c\", " + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(script)
                    + "], \"name\": \"cmp-" + i + "\"}").get("id").asText();
            server.awaitStatus(id, token, "succeeded");
            ids.add(id);
        }
        signedIn("experiments");
        browser.executeScript("""
                window.seriesRequests = [];
                const real = window.fetch;
                window.fetch = (url, opts) => { if (String(url).includes('/series?')) window.seriesRequests.push(String(url)); return real(url, opts); };
                """);
        browser.get(server.url + "/#/compare/" + String.join(",", ids));
        WebElement loss = waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("#compare-charts .chart[data-metric='loss'][data-drawn]")));
        waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#compare-charts[data-drawn]")));
        assertThat(loss.getAttribute("data-series")).isEqualTo("3");
        assertThat(loss.getAttribute("data-points")).isEqualTo("120");
        assertThat(loss.findElements(By.cssSelector("canvas"))).isNotEmpty();
        assertThat(browser.findElements(By.cssSelector("#compare-charts .chart[data-metric='acc'][data-drawn]"))).hasSize(1);
        // one request per metric, all the experiments in it
        @SuppressWarnings("unchecked")
        List<String> asked = (List<String>) browser.executeScript("return window.seriesRequests");
        assertThat(asked).hasSize(2).allSatisfy(u -> assertThat(u).contains(java.net.URLEncoder.encode(String.join(",", ids), java.nio.charset.StandardCharsets.UTF_8)));
        // the server's cut keeps the spike, on the grid every line shares
        JsonNode cut = server.json("/api/v1/series?key=loss&buckets=4&experiments=" + String.join(",", ids), token);
        // about 4 buckets over steps 1-40: 3 of 16 steps (a power of two, from step 0), two slots each
        assertThat(cut.get("steps")).hasSize(6);
        assertThat(cut.get("series").get(1).get("values").toString()).contains("900");
        assertThat(cut.get("series").get(0).get("values").toString()).doesNotContain("900");
        HeadlessChromium.screenshot(browser, "compare-charts");
        browser.navigate().refresh();
    }

    @Test
    void anAnswerToALoadThatALaterOneSupersededIsNotDrawnOverIt() throws Exception {
        double[] lrs = {0.3, 0.1, 0.2}; // created in this order: the default order differs from the order by lr
        for (int i = 0; i < lrs.length; i++) {
            queue("{\"command\": [\"true\"], \"name\": \"race-" + i + "\", \"params\": {\"lr\": " + lrs[i] + "}}");
        }
        signedIn("experiments");
        waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.id("filter")));
        WebElement filter = browser.findElement(By.id("filter"));
        filter.clear();
        filter.sendKeys("name ~ race-");
        WebElement columns = browser.findElement(By.id("columns"));
        columns.clear();
        columns.sendKeys("params.lr", Keys.ENTER);
        waitUpTo(30).until(d -> column("params.lr").size() == 3);

        // the answers to loads in the default order come 1.5 s late (a poll in flight on a slow server), the rest at once
        browser.executeScript("""
                const real = window.fetch;
                window.slowAnswer = 'none';
                window.fetch = (url, opts) => {
                  const answer = real(url, opts);
                  if (!String(url).includes('/experiments?') || !String(url).includes('sort=created')) return answer;
                  window.slowAnswer = 'pending';
                  return answer.then(r => r.text().then(body => new Promise(done => setTimeout(() => {
                    done(new Response(body, { status: r.status, headers: r.headers }));
                    setTimeout(() => { window.slowAnswer = 'answered'; }, 300);
                  }, 1500))));
                };
                """);
        browser.findElement(By.id("apply")).click(); // a load in the default order, answered late
        waitUpTo(10).until(d -> "pending".equals(browser.executeScript("return window.slowAnswer")));
        browser.findElement(By.cssSelector("#experiments th[data-column='params.lr']")).click();
        waitUpTo(30).until(d -> column("params.lr").equals(List.of("0.1", "0.2", "0.3")));
        waitUpTo(30).until(d -> "answered".equals(browser.executeScript("return window.slowAnswer")));
        // the late answer (newest first: 0.2, 0.1, 0.3) was dropped: the table is still the one its header says
        assertThat(column("params.lr")).containsExactly("0.1", "0.2", "0.3");
        assertThat(browser.findElement(By.cssSelector("#experiments th[data-column='params.lr']")).getAttribute("class")).contains("sorted-asc");
        // the next test starts from a page of its own: the fetch above and this table's sort and filter gone
        browser.navigate().refresh();
    }

    @Test
    void signInThenTheTableFiltersSortsByAParamColumnAndComparesTwo() throws Exception {
        double[] lrs = {0.3, 0.1, 0.2};
        for (int i = 0; i < lrs.length; i++) {
            String id = queue("{\"command\": [\"true\"], \"name\": \"tbl-" + i + "\", \"params\": {\"lr\": " + lrs[i] + ", \"opt\": \"sgd\"}}").get("id").asText();
            server.awaitStatus(id, token, "succeeded");
        }
        queue("{\"command\": [\"true\"], \"name\": \"other-1\", \"params\": {\"lr\": 0.5}}");

        // signed out, any page asks for a token; a wrong one is refused with a message, the right one opens the table
        browser.get(server.url + "/#/signin");
        browser.executeScript("sessionStorage.clear()");
        browser.get(server.url + "/#/experiments");
        WebElement input = waitUpTo(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
        input.sendKeys("sortie_wrong");
        browser.findElement(By.id("sign-in")).click();
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("error"), "not valid"));
        signedIn("experiments");
        waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#experiments tbody tr")));

        WebElement filter = browser.findElement(By.id("filter"));
        filter.clear();
        filter.sendKeys("name ~ tbl-");
        WebElement columns = browser.findElement(By.id("columns"));
        columns.clear();
        columns.sendKeys("params.lr, metrics.nothing", Keys.ENTER);
        waitUpTo(30).until(d -> column("params.lr").size() == 3);
        assertThat(column("duration")).allMatch(t -> t.matches("\\d+\\.\\d s"));
        HeadlessChromium.screenshot(browser, "table-filtered");

        browser.findElement(By.cssSelector("#experiments th[data-column='params.lr']")).click();
        waitUpTo(30).until(d -> column("params.lr").equals(List.of("0.1", "0.2", "0.3")));
        browser.findElement(By.cssSelector("#experiments th[data-column='params.lr']")).click();
        waitUpTo(30).until(d -> column("params.lr").equals(List.of("0.3", "0.2", "0.1")));

        // paged by the server: 2 rows a page, the next page holds the third
        WebElement pageSize = browser.findElement(By.id("page-size"));
        pageSize.clear();
        pageSize.sendKeys("2", Keys.ENTER);
        waitUpTo(30).until(d -> column("params.lr").equals(List.of("0.3", "0.2")));
        assertThat(browser.findElement(By.id("pager")).getText()).contains("1–2 of 3");
        browser.findElement(By.id("next")).click();
        waitUpTo(30).until(d -> column("params.lr").equals(List.of("0.1")));
        assertThat(browser.findElement(By.id("next")).isEnabled()).isFalse();
        browser.findElement(By.id("prev")).click();
        waitUpTo(30).until(d -> column("params.lr").equals(List.of("0.3", "0.2")));
        pageSize.clear();
        pageSize.sendKeys("25", Keys.ENTER);
        waitUpTo(30).until(d -> column("params.lr").size() == 3);

        // a filter the API refuses says why
        filter.clear();
        filter.sendKeys("lr ?? 3", Keys.ENTER);
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("error"), "filter"));
        filter.clear();
        filter.sendKeys("name ~ tbl-", Keys.ENTER);
        waitUpTo(30).until(d -> column("params.lr").size() == 3 && !d.findElement(By.id("error")).isDisplayed());

        List<WebElement> boxes = browser.findElements(By.cssSelector("#experiments input.select"));
        boxes.get(0).click();
        boxes.get(1).click();
        browser.findElement(By.id("compare")).click();
        WebElement lrRow = waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#compare-table tr[data-key='lr']")));
        assertThat(lrRow.getAttribute("class")).contains("differs");
        assertThat(lrRow.getText()).contains("0.3").contains("0.2");
        assertThat(browser.findElement(By.cssSelector("#compare-table tr[data-key='opt']")).getAttribute("class")).doesNotContain("differs");
    }

    @Test
    void aLiveRunsNewMetricPointAndLogLineShowOnItsPage() throws Exception {
        Path go = tmp.resolve("go");
        // the run writes step 1, waits for the test's go file, writes step 2, waits for the second one, ends
        String script = "echo step=1 loss=0.9; while [ ! -e \"$0\" ]; do sleep 0.05; done; echo step=2 loss=0.4; "
                + "while [ ! -e \"$0.2\" ]; do sleep 0.05; done; echo done";
        ObjectNode body = ServerProcess.JSON.createObjectNode();
        body.putArray("command").add("sh").add("-c").add(script).add(go.toString());
        body.put("name", "live-1");
        String id = queue(body.toString()).get("id").asText();

        signedIn("experiment/" + id);
        By chart = By.cssSelector(".chart[data-metric='loss']");
        waitUpTo(60).until(d -> "1".equals(d.findElement(chart).getAttribute("data-last-step")));
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), "step=1 loss=0.9"));
        assertThat(status()).isEqualTo("running");
        assertThat(browser.findElements(By.cssSelector(".chart[data-metric='loss'] canvas"))).as("uPlot drew the chart").isNotEmpty();
        // the page and uPlot work within the Content-Security-Policy: it refused nothing
        assertThat(HeadlessChromium.console(browser)).noneMatch(line -> line.contains("Content Security Policy"));
        HeadlessChromium.screenshot(browser, "live-step-1");

        long before = System.nanoTime();
        Files.writeString(go, "");
        waitUpTo(30).until(d -> "2".equals(d.findElement(chart).getAttribute("data-last-step")));
        long ms = (System.nanoTime() - before) / 1_000_000;
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), "step=2 loss=0.4"));
        System.out.println("WebUiTest: the new point showed " + ms + " ms after the run was let go");
        // the page polls each second: the point is there within 2 s of being written (more slack under a loaded CI)
        assertThat(ms).as("ms until the new point showed").isLessThan(10_000);
        HeadlessChromium.screenshot(browser, "live-step-2");

        Files.writeString(Path.of(go + ".2"), "");
        waitUpTo(60).until(d -> "succeeded".equals(status()));
        waitUpTo(30).until(ExpectedConditions.attributeToBe(By.id("log"), "data-finished", "true"));
        assertThat(browser.findElement(By.id("log")).getText()).contains("done");
    }

    @Test
    void aWebRunQueuedFromAnExperimentsPageWithAChangedParamRunsAndIsListed() throws Exception {
        String from = queue("{\"command\": [\"sh\", \"-c\", \"echo lr=$0\", \"${lr}\"], \"name\": \"base-1\", \"params\": {\"lr\": 0.1}}").get("id").asText();
        server.awaitStatus(from, token, "succeeded");

        signedIn("experiment/" + from);
        waitUpTo(30).until(ExpectedConditions.elementToBeClickable(By.id("rerun"))).click();
        WebElement lr = waitUpTo(30).until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("input[data-key='lr']")));
        assertThat(lr.getAttribute("value")).isEqualTo("0.1");
        lr.clear();
        lr.sendKeys("0.7");
        new Select(browser.findElement(By.id("executor"))).selectByValue("local");
        browser.findElement(By.id("new-name")).sendKeys("base-web");
        HeadlessChromium.screenshot(browser, "web-run-form");
        browser.findElement(By.id("queue-it")).click();

        waitUpTo(120).until(d -> "succeeded".equals(d.findElement(By.id("main")).getAttribute("data-status"))
                && d.findElement(By.id("exp-name")).getText().equals("base-web"));
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), "lr=0.7"));
        JsonNode made = server.json("/api/v1/experiments/base-web", token);
        assertThat(made.get("params").get("lr").asDouble()).isEqualTo(0.7);
        assertThat(made.get("where").get("executor").asText()).isEqualTo("local");

        browser.get(server.url + "/#/experiments");
        WebElement filter = waitUpTo(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("filter")));
        filter.clear();
        filter.sendKeys("name ~ base-", Keys.ENTER);
        waitUpTo(30).until(d -> texts("#experiments tbody tr").stream().anyMatch(t -> t.contains("base-web") && t.contains("succeeded")));
    }

    @Test
    void stopOnARunningExperimentsPageStopsIt() throws Exception {
        String id = queue("{\"command\": [\"sh\", \"-c\", \"echo started attempt $SORTIE_ATTEMPT; sleep 300\"], \"name\": \"to-stop\"}").get("id").asText();
        signedIn("experiment/" + id);
        waitUpTo(60).until(d -> "running".equals(status()));
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), "started attempt 1"));
        browser.findElement(By.id("stop")).click();
        waitUpTo(60).until(d -> "stopped".equals(status()));
        assertThat(server.json("/api/v1/experiments/" + id, token).get("status").asText()).isEqualTo("stopped");

        // retry from the page: the run goes again as attempt 2, the stopped attempt listed; then stopped again
        waitUpTo(30).until(ExpectedConditions.elementToBeClickable(By.id("retry"))).click();
        waitUpTo(60).until(d -> "running".equals(status())
                && texts("[data-fact='attempt']").equals(List.of("2")) && texts("#attempts tbody tr").size() == 1);
        assertThat(texts("#attempts tbody tr").get(0)).contains("stopped");
        // the log shown is the new attempt's, followed live
        waitUpTo(30).until(d -> texts("#log").get(0).equals("started attempt 2\n"));
        browser.findElement(By.id("stop")).click();
        waitUpTo(60).until(d -> "stopped".equals(status()));
    }

    @Test
    void anArtifactListedOnTheExperimentsPageDownloadsWithItsBytes() throws Exception {
        String id = queue("{\"command\": [\"sh\", \"-c\", \"printf 'weights 42' > \\\"$SORTIE_ARTIFACT_DIR/model-out.txt\\\"\"], \"name\": \"with-artifact\"}")
                .get("id").asText();
        server.awaitStatus(id, token, "succeeded");
        Path saved = HeadlessChromium.DOWNLOADS.resolve("model-out.txt");
        Files.deleteIfExists(saved);
        signedIn("experiment/" + id);
        WebElement link = waitUpTo(30).until(ExpectedConditions.elementToBeClickable(By.xpath("//ul[@id='artifacts']//a[contains(., 'model-out.txt')]")));
        link.click();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> Files.exists(saved) && Files.readString(saved).equals("weights 42"));
    }

    /**
     * What dvclive writes for an ROC curve, a confusion matrix and an image (its files and formats: a JSON object
     * holding the rows, sklearn's first threshold as a bare Infinity, a list of actual/predicted rows, a PNG),
     * small; argv[1] moves one score, so the two runs differ.
     */
    static final String DVCLIVE_FILES = """
            import json, os, struct, sys, zlib
            s = float(sys.argv[1])
            os.makedirs("dvclive/plots/sklearn", exist_ok=True)
            os.makedirs("dvclive/plots/images", exist_ok=True)
            roc = [{"fpr": 0.0, "tpr": 0.0, "threshold": float("inf")}, {"fpr": 0.0, "tpr": 0.5, "threshold": 0.8},
                   {"fpr": s, "tpr": 0.75, "threshold": 0.5}, {"fpr": 1.0, "tpr": 1.0, "threshold": 0.1}]
            json.dump({"roc": roc}, open("dvclive/plots/sklearn/roc.json", "w"))
            pairs = [(0, 0), (0, 0), (0, 1), (1, 1), (1, 1), (1, 0 if s > 0.4 else 1)]
            json.dump([{"actual": str(a), "predicted": str(p)} for a, p in pairs], open("dvclive/plots/sklearn/confusion_matrix.json", "w"))
            raw = b"".join(b"\\0" + bytes((200, 30, 30)) * 4 for _ in range(4))
            chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
            open("dvclive/plots/images/sample.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
            """;

    @Test
    void dvcPlotsShowOnTheExperimentsPageAndOverlaidInCompare() throws Exception {
        ObjectNode body = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        String[] ids = new String[2];
        String[] shifts = {"0.25", "0.5"};
        for (int i = 0; i < 2; i++) {
            body.put("name", "dvc-plots-" + i);
            body.putArray("command").add("python3").add("-c").add(DVCLIVE_FILES).add(shifts[i]);
            ids[i] = queue(body.toString()).get("id").asText();
        }
        for (String id : ids) {
            server.awaitStatus(id, token, "succeeded");
        }

        signedIn("experiment/" + ids[1]);
        String roc = "#dvc-plots .dvc-curve[data-plot='Receiver operating characteristic (ROC)']";
        WebElement curve = waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(roc)));
        assertThat(curve.getAttribute("data-lines")).isEqualTo("1");
        assertThat(curve.findElements(By.tagName("canvas"))).isNotEmpty();
        // 0 and 1 actual by 0 and 1 predicted: the second run put a 1 at 0
        assertThat(texts("#dvc-plots .dvc-confusion td")).containsExactly("2", "1", "1", "2");
        // the image came through the artifacts route with the token, shown from an object URL under the page's CSP
        WebElement img = browser.findElement(By.cssSelector("#dvc-plots .dvc-image img"));
        waitUpTo(30).until(d -> ((Number) browser.executeScript("return arguments[0].naturalWidth", img)).intValue() == 4);
        assertThat(img.getAttribute("src")).startsWith("blob:");
        browser.executeScript("document.getElementById('dvc-plots').scrollIntoView()");
        HeadlessChromium.screenshot(browser, "dvc-plots-experiment");

        browser.get(server.url + "/#/compare/" + ids[0] + "," + ids[1]);
        WebElement both = waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector(roc + "[data-lines='2']")));
        assertThat(both.getAttribute("data-points")).isEqualTo("8");
        assertThat(texts("#dvc-plots .dvc-confusion strong")).containsExactly(
                "Confusion Matrix · dvc-plots-0", "Confusion Matrix · dvc-plots-1");
        assertThat(texts("#dvc-plots .dvc-confusion[data-experiment='dvc-plots-0'] td")).containsExactly("2", "1", "0", "3");
        assertThat(browser.findElements(By.cssSelector("#dvc-plots .dvc-image img"))).hasSize(2);
        browser.executeScript("document.getElementById('dvc-plots').scrollIntoView()");
    }

    @Test
    void theExecutorsPageListsExecutorsWithTheirRunsAndTheQueue() throws Exception {
        String id = queue("{\"command\": [\"sh\", \"-c\", \"sleep 300\"], \"name\": \"busy-1\"}").get("id").asText();
        try {
            server.awaitStatus(id, token, "running");
            signedIn("executors");
            waitUpTo(30).until(d -> texts("#executors tr[data-executor='local'] td").size() >= 3
                    && texts("#executors tr[data-executor='local'] td").get(2).equals("1"));
            assertThat(texts("#executors tr[data-executor='local'] td").get(1)).isEqualTo("local");
            assertThat(browser.findElement(By.id("queue-summary")).getText()).contains("1 running");
        } finally {
            server.postJson("/api/v1/experiments/" + id + "/stop", token, "{}", 200);
        }
    }

    @Test
    void aHostileParamAndLogAreShownAsTextNeverAsMarkup() throws Exception {
        String hostile = "<img src=x onerror=\"window.__pwned=1\">";
        ObjectNode body = ServerProcess.JSON.createObjectNode();
        body.putArray("command").add("echo").add("${note}");
        body.put("name", "hostile-1");
        body.putObject("params").put("note", hostile);
        String id = queue(body.toString()).get("id").asText();
        server.awaitStatus(id, token, "succeeded");

        signedIn("experiment/" + id);
        WebElement note = waitUpTo(30).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#params tr[data-key='note'] td")));
        assertThat(note.getText()).isEqualTo(hostile);
        waitUpTo(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), hostile));
        assertThat(browser.findElements(By.cssSelector("main img"))).isEmpty();
        assertThat(browser.executeScript("return window.__pwned === undefined")).isEqualTo(true);

        browser.get(server.url + "/#/experiments");
        WebElement filter = waitUpTo(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("filter")));
        filter.clear();
        filter.sendKeys("name = hostile-1");
        WebElement columns = browser.findElement(By.id("columns"));
        columns.clear();
        columns.sendKeys("params.note", Keys.ENTER);
        waitUpTo(30).until(d -> column("params.note").equals(List.of(hostile)));
        assertThat(browser.findElements(By.cssSelector("main img"))).isEmpty();
        assertThat(browser.executeScript("return window.__pwned === undefined")).isEqualTo(true);
    }
}
