package dev.sortie.cli.server;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real headless Chromium driven through Debian's chromedriver (packages {@code chromium} and
 * {@code chromium-driver}). Outside CI a machine without them skips the web UI's tests with a message that says what
 * to install; under {@code CI=1} their absence fails the tests (CI installs them), as the sshd fixture does.
 * The paths are given to Selenium so it never looks for or downloads a browser of its own.
 */
final class HeadlessChromium {
    static final Path BROWSER = Path.of(System.getenv().getOrDefault("SORTIE_TEST_CHROMIUM", "/usr/bin/chromium"));
    static final Path DRIVER = Path.of(System.getenv().getOrDefault("SORTIE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"));
    /** Where the tests leave their screenshots: the module's target/screenshots/. */
    static final Path SCREENSHOTS = Path.of("target", "screenshots");
    /** Where the browser saves what it downloads. */
    static final Path DOWNLOADS = Path.of("target", "downloads");

    private HeadlessChromium() {
    }

    static ChromeDriver start() {
        boolean present = Files.isExecutable(BROWSER) && Files.isExecutable(DRIVER);
        String missing = "Chromium and its driver are not installed (" + BROWSER + ", " + DRIVER
                + "): apt-get install -y chromium chromium-driver; the web UI's tests need them";
        if (System.getenv("CI") != null && !present) {
            throw new AssertionError(missing + " (CI=1: CI must install them, see .ci/run)");
        }
        Assumptions.assumeTrue(present, missing);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BROWSER.toFile());
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1100",
                "--no-first-run", "--no-default-browser-check");
        // downloads (artifacts) land in target/downloads/ without asking
        options.setExperimentalOption("prefs", java.util.Map.of("download.default_directory", DOWNLOADS.toAbsolutePath().toString(),
                "download.prompt_for_download", false));
        // the browser's console, so a test can see what the Content-Security-Policy refused
        options.setCapability("goog:loggingPrefs", java.util.Map.of("browser", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60)).scriptTimeout(Duration.ofSeconds(30));
        return driver;
    }

    /** What the page wrote to the browser's console since the last call (errors, CSP refusals). */
    static java.util.List<String> console(ChromeDriver driver) {
        return driver.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll().stream()
                .map(e -> e.getLevel() + " " + e.getMessage()).toList();
    }

    /** Saves what the page shows now as target/screenshots/NAME.png. */
    static Path screenshot(ChromeDriver driver, String name) throws IOException {
        Files.createDirectories(SCREENSHOTS);
        File shot = driver.getScreenshotAs(OutputType.FILE);
        Path to = SCREENSHOTS.resolve(name + ".png");
        Files.copy(shot.toPath(), to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return to;
    }
}
