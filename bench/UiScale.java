import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The web UI's experiments table in a real headless Chromium (Selenium), timed in the browser itself
 * (performance.now(), until the table is in the page and a frame has been drawn after it). Run by bench/ui_scale.py,
 * which seeds the ledger and starts the server:
 *   java -cp SELENIUM_CLASSPATH bench/UiScale.java URL TOKEN ROUNDS COLUMNS SORT FILTER
 * Prints one JSON line per round: first_paint_ms (a fresh load of #/experiments: HTML, scripts, the first page of the
 * API, the table), columns_ms (the 50 columns applied), sort_ms (a click on a metric's header), sort_desc_ms (a second
 * click), filter_ms (a filter applied), and rows and total as the page showed them.
 */
public final class UiScale {
    /** Runs ACTION (a statement), then answers the ms until the table was redrawn and the next frame painted. */
    private static final String TIMED = """
            const done = arguments[arguments.length - 1];
            const before = document.getElementById('experiments').dataset.loaded;
            const t0 = performance.now();
            %s;
            const check = () => {
              const t = document.getElementById('experiments');
              if (t && t.dataset.loaded !== before) {
                requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
              } else if (performance.now() - t0 > 30000) {
                done(-1);
              } else {
                setTimeout(check, 2);
              }
            };
            check();
            """;

    public static void main(String[] args) throws Exception {
        if (args[0].equals("compare")) {
            compare(args[1], args[2], Integer.parseInt(args[3]), args[4]);
            return;
        }
        String url = args[0];
        String token = args[1];
        int rounds = Integer.parseInt(args[2]);
        String columns = args[3];
        String sort = args[4];
        String filter = args[5];
        ChromeDriver browser = browser();
        try {
            table(browser, url, token, rounds, columns, sort, filter);
        } finally {
            browser.quit();
        }
    }

    /**
     * The compare page of the experiments {@code ids}: ms from navigation until every chart is drawn (charts_ms), then
     * until the page answers a pointer moved over a chart (the cursor drawn: interactive_ms, after the charts).
     */
    static void compare(String url, String token, int rounds, String ids) throws Exception {
        ChromeDriver browser = browser();
        try {
            browser.get(url + "/#/signin");
            browser.executeScript("sessionStorage.setItem('sortie.token', arguments[0])", token);
            for (int r = 0; r < rounds; r++) {
                browser.get("about:blank");
                browser.get(url + "/#/compare/" + ids);
                Map<?, ?> m = (Map<?, ?>) browser.executeAsyncScript("""
                        const done = arguments[arguments.length - 1];
                        const check = () => {
                          const c = document.getElementById('compare-charts');
                          if (c && c.dataset.drawn) {
                            requestAnimationFrame(() => setTimeout(() => {
                              const drawn = Date.now() - performance.timeOrigin;
                              const over = c.querySelector('.u-over');
                              const r = over.getBoundingClientRect();
                              const t0 = performance.now();
                              over.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true }));
                              requestAnimationFrame(() => setTimeout(() => done({ charts_ms: drawn, interactive_ms: performance.now() - t0,
                                charts: c.querySelectorAll('.chart canvas').length,
                                series: Number(c.querySelector('.chart').dataset.series),
                                points: [...c.querySelectorAll('.chart')].reduce((n, b) => n + Number(b.dataset.points), 0) }), 0));
                            }, 0));
                          } else if (performance.now() > 60000) {
                            done(null);
                          } else {
                            setTimeout(check, 5);
                          }
                        };
                        check();
                        """);
                if (m == null) {
                    throw new IllegalStateException("the compare page's charts were not drawn within 60 s");
                }
                System.out.printf(java.util.Locale.ROOT, "{\"round\": %d, \"charts_ms\": %.1f, \"interactive_ms\": %.1f, \"charts\": %s, \"series\": %s, \"points\": %s}%n",
                        r, ((Number) m.get("charts_ms")).doubleValue(), ((Number) m.get("interactive_ms")).doubleValue(), m.get("charts"),
                        m.get("series"), m.get("points"));
            }
            if (!System.getProperty("screenshot", "").isEmpty()) {
                Files.write(Path.of(System.getProperty("screenshot")), browser.getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
            }
        } finally {
            browser.quit();
        }
    }

    private static ChromeDriver browser() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(Path.of("/usr/bin/chromium").toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1600,1100",
                "--no-first-run", "--no-default-browser-check");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(Path.of("/usr/bin/chromedriver").toFile())
                .usingAnyFreePort().build();
        ChromeDriver browser = new ChromeDriver(service, options);
        browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60)).scriptTimeout(Duration.ofSeconds(70));
        return browser;
    }

    private static void table(ChromeDriver browser, String url, String token, int rounds, String columns, String sort, String filter)
            throws Exception {
        {
            browser.get(url + "/#/signin");
            browser.executeScript("sessionStorage.setItem('sortie.token', arguments[0])", token);
            for (int r = 0; r < rounds; r++) {
                browser.get("about:blank");
                browser.get(url + "/#/experiments");
                double firstPaint = ((Number) browser.executeAsyncScript("""
                        const done = arguments[arguments.length - 1];
                        const check = () => {
                          const t = document.getElementById('experiments');
                          if (t && t.dataset.loaded) {
                            const loaded = Number(t.dataset.loaded);
                            requestAnimationFrame(() => setTimeout(() => done(Math.max(loaded, Date.now()) - performance.timeOrigin), 0));
                          } else {
                            setTimeout(check, 2);
                          }
                        };
                        check();
                        """)).doubleValue();
                double cols = timed(browser, "document.getElementById('columns').value = " + js(columns)
                        + "; document.getElementById('apply').click()");
                double sortAsc = timed(browser, "document.querySelector(\"th[data-column='" + sort + "']\").click()");
                String firstAsc = firstCell(browser, sort);
                double sortDesc = timed(browser, "document.querySelector(\"th[data-column='" + sort + "']\").click()");
                String firstDesc = firstCell(browser, sort);
                double filtered = timed(browser, "document.getElementById('filter').value = " + js(filter)
                        + "; document.getElementById('apply').click()");
                Map<?, ?> shown = (Map<?, ?>) browser.executeScript("""
                        const t = document.getElementById('experiments');
                        return {rows: t.querySelectorAll('tbody tr').length, cells: t.querySelectorAll('tbody td').length,
                          total: Number(t.dataset.total), sorted: !!t.querySelector('th.sorted-desc')};
                        """);
                System.out.printf(java.util.Locale.ROOT,
                        "{\"round\": %d, \"first_paint_ms\": %.1f, \"columns_ms\": %.1f, \"sort_ms\": %.1f, \"sort_desc_ms\": %.1f, \"filter_ms\": %.1f,"
                                + " \"rows\": %s, \"cells\": %s, \"total\": %s, \"first_asc\": %s, \"first_desc\": %s}%n",
                        r, firstPaint, cols, sortAsc, sortDesc, filtered, shown.get("rows"), shown.get("cells"), shown.get("total"),
                        js(firstAsc), js(firstDesc));
            }
            if (!System.getProperty("screenshot", "").isEmpty()) {
                Files.write(Path.of(System.getProperty("screenshot")), browser.getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
            }
        }
    }

    private static double timed(ChromeDriver browser, String action) {
        double ms = ((Number) browser.executeAsyncScript(TIMED.formatted(action))).doubleValue();
        if (ms < 0) {
            throw new IllegalStateException("the table was not redrawn within 30 s after: " + action);
        }
        return ms;
    }

    private static String firstCell(ChromeDriver browser, String column) {
        Object v = browser.executeScript("const c = document.querySelector(\"#experiments tbody tr td[data-column='\" + arguments[0] + \"']\");"
                + " return c ? c.textContent : null", column);
        return v == null ? null : v.toString();
    }

    private static String js(String s) {
        if (s == null) {
            return "null";
        }
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
