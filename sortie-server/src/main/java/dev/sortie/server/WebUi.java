package dev.sortie.server;

import io.javalin.config.JavalinConfig;
import io.javalin.http.staticfiles.Location;
import java.util.Map;

/**
 * The web UI: static files from the jar (plain HTML, CSS and ES modules under {@code /sortie-ui}, served at
 * {@code /}) and uPlot from its webjar (at {@code /webjars/uplot/...}). The pages hold no data and need no token;
 * the page asks for one and sends it on every API call as {@code Authorization: Bearer}. Every page and script
 * carries a Content-Security-Policy that allows scripts only from this server (no inline script, no eval), so a
 * name or param that looks like HTML can do nothing even if it were ever put into the page as markup.
 */
final class WebUi {
    /** No inline script; styles may be set by scripts (uPlot sizes its canvas that way) but come from this server. */
    static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    private static final Map<String, String> HEADERS = Map.of("Content-Security-Policy", CSP, "X-Content-Type-Options", "nosniff",
            "Referrer-Policy", "no-referrer", "Cache-Control", "no-cache");

    private WebUi() {
    }

    static void serve(JavalinConfig config) {
        config.staticFiles.add(files -> {
            files.hostedPath = "/";
            files.directory = "/sortie-ui";
            files.location = Location.CLASSPATH;
            files.headers = HEADERS;
        });
        config.staticFiles.add(files -> {
            files.hostedPath = "/webjars";
            files.directory = "/META-INF/resources/webjars";
            files.location = Location.CLASSPATH;
            files.headers = HEADERS;
        });
    }
}
