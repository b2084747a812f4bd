package dev.sortie.sdk;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run started by hand that reports to a Sortie server ({@code SORTIE_SERVER} or {@code SORTIE_API}, and
 * {@code SORTIE_TOKEN}): the run's {@link EventWriter} writes its events file (a temp file here) as always, and this
 * reporter's thread reads it every 250 ms and posts what is new: the run's creation ({@code POST /tracked}), its
 * metric points and end ({@code POST /reports/{id}}, attempt 1), later params.
 *
 * <p>Requests wait in an outbox (oldest first) until the server acknowledged them, so a server that is down or
 * restarting loses nothing: the reporter sends again from the oldest with a growing pause (up to 5 s), and
 * {@link #finish} waits up to {@code SORTIE_REPORT_WAIT_S} (30 s) for the rest. Every request can be sent twice
 * without counting twice: the run's id is chosen here, and the server keys points by (metric, step), so points
 * logged without a step are numbered here, as the events protocol numbers them.
 */
final class ServerReporter {
    static final int BATCH_POINTS = 10_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final long MAX_BACKOFF_MS = 5_000;
    private static final long POLL_MS = 250;

    private final String api;
    private final String token;
    private final String id;
    private final Path eventsFile;
    private final long exitWaitMs;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    private final Object lock = new Object();
    private final ArrayDeque<Request> outbox = new ArrayDeque<>(); // guarded by lock
    private final Map<String, Long> nextStep = new HashMap<>(); // guarded by lock
    private long readOffset; // guarded by lock
    private boolean ended; // guarded by lock: an end event was read
    private long retryAt; // guarded by lock: System.nanoTime() before which no request is tried
    private long backoffMs; // guarded by lock
    private boolean down; // guarded by lock: said that the server does not answer
    /** How often an idle run posts (an empty report) so the server does not end it lost; the server's answer says. */
    private long heartbeatNanos = 30_000_000_000L; // guarded by lock
    private long lastPost = System.nanoTime(); // guarded by lock
    /** How the server ended the run while it went on (a stop, lost), with why; null while it did not. */
    private volatile String endedOnServer;
    private volatile boolean stopping;
    private final Thread thread;

    /** A request to send: its path under the API, and its JSON body; or, with {@code file} set, a saved file's upload. */
    record Request(String path, String body, Path file, String hash, long size) {
        Request(String path, String body) {
            this(path, body, null, null, 0);
        }
    }

    /** Bytes per upload request of a saved file, as the CLI's push sends them. */
    static final int BLOB_PART = 8 << 20;

    /** The server refused a request for good (a 4xx other than 408/429): sending it again would not help. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    ServerReporter(String api, String token, String id, String createBody, Path eventsFile, long exitWaitMs) {
        this.api = api;
        this.token = token;
        this.id = id;
        this.eventsFile = eventsFile;
        this.exitWaitMs = exitWaitMs;
        outbox.add(new Request("/tracked", createBody));
        thread = new Thread(this::loop, "sortie-server-reporter");
        thread.setDaemon(true);
    }

    /**
     * Tries the run's creation now, so a refusal (a name in use, a bad token) is an error where the caller sees it;
     * returns the server's answer, or null when it does not answer (then it is sent when it does).
     */
    Map<?, ?> createNow() {
        synchronized (lock) {
            Request create = outbox.peekFirst();
            try {
                Object answer = Json.parse(post(create));
                outbox.removeFirst();
                answered(answer);
                return answer instanceof Map<?, ?> m ? m : Map.of();
            } catch (Refused e) {
                throw new SortieException("sortie: the server at " + api + " refused the run: " + e.getMessage());
            } catch (IOException e) {
                noteDown(e);
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    void start() {
        thread.start();
    }

    private void loop() {
        while (!stopping) {
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                return;
            }
            try {
                pass(false);
            } catch (IOException e) {
                // kept; the next pass sends again after the backoff
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Reads what the writer added to the file, then sends the outbox from its oldest request until one fails. */
    private void pass(boolean force) throws IOException, InterruptedException {
        synchronized (lock) {
            read();
            if (outbox.isEmpty() && !ended && endedOnServer == null && System.nanoTime() - lastPost >= heartbeatNanos) {
                // nothing to report for a while: an empty report, so the server knows this process is there
                outbox.add(new Request("/reports/" + id, "{\"attempt\":1}"));
            }
            while (!outbox.isEmpty()) {
                if (!force && System.nanoTime() - retryAt < 0) {
                    return;
                }
                Request r = outbox.peekFirst();
                String answer;
                try {
                    answer = post(r);
                } catch (Refused e) {
                    outbox.removeFirst();
                    System.err.println("sortie: the server at " + api + " refused " + r.path() + " (" + e.getMessage() + "); not sent again");
                    continue;
                } catch (IOException e) {
                    backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(250, backoffMs * 2));
                    retryAt = System.nanoTime() + backoffMs * 1_000_000L;
                    noteDown(e);
                    throw e;
                }
                outbox.removeFirst();
                try {
                    answered(Json.parse(answer));
                } catch (RuntimeException notJson) {
                    answered(null);
                }
                backoffMs = 0;
                retryAt = System.nanoTime();
                if (down) {
                    down = false;
                    System.err.println("sortie: the server at " + api + " takes reports again; what was kept was sent");
                }
            }
        }
    }

    /** What an answer says: how often to post while idle ({@code heartbeat_s}), and whether the server ended the run. */
    private void answered(Object answer) {
        lastPost = System.nanoTime();
        if (!(answer instanceof Map<?, ?> m)) {
            return;
        }
        if (m.get("heartbeat_s") instanceof Number n && n.doubleValue() > 0) {
            heartbeatNanos = (long) (n.doubleValue() * 1e9);
        }
        Object status = m.get("status");
        if (!ended && endedOnServer == null && status instanceof String s
                && (s.equals("succeeded") || s.equals("failed") || s.equals("stopped") || s.equals("interrupted"))) {
            endedOnServer = s + (m.get("error") instanceof String why ? ": " + why : "");
            System.err.println("sortie: the server at " + api + " ended run " + id + ": " + endedOnServer);
        }
    }

    /** How the server ended the run while this process went on ({@code "stopped: stopped by user"}), or null. */
    String endedOnServer() {
        return endedOnServer;
    }

    private void noteDown(IOException e) {
        if (!down) {
            down = true;
            System.err.println("sortie: the server at " + api + " did not take a report (" + e.getMessage()
                    + "); keeping it and sending again");
        }
    }

    /** The complete lines the writer appended since the last read, as requests in the outbox. */
    private void read() throws IOException {
        byte[] bytes;
        try (RandomAccessFile f = new RandomAccessFile(eventsFile.toFile(), "r")) {
            long size = f.length();
            if (size <= readOffset) {
                return;
            }
            bytes = new byte[(int) Math.min(size - readOffset, 64L << 20)];
            f.seek(readOffset);
            f.readFully(bytes);
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--; // a line not complete yet is read next time
        }
        if (end == 0) {
            return;
        }
        readOffset += end;
        List<String> points = new ArrayList<>();
        for (String line : new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            Map<?, ?> ev;
            try {
                ev = (Map<?, ?>) Json.parse(line);
            } catch (RuntimeException e) {
                continue; // not written by this SDK's writer; nothing to send
            }
            Object kind = ev.get("e");
            if ("m".equals(kind)) {
                metrics(ev, points);
                continue;
            }
            flushPoints(points);
            if ("p".equals(kind)) {
                outbox.add(new Request("/tracked", "{\"id\":\"" + id + "\",\"params\":" + Json.write(ev.get("v")) + "}"));
            } else if ("a".equals(kind) && ev.get("path") instanceof String file) {
                artifact(Path.of(file), ev.get("kind") instanceof String k ? k : "artifact");
            } else if ("end".equals(kind)) {
                ended = true;
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("attempt", 1);
                body.put("state", ev.get("status"));
                body.put("error", ev.get("error"));
                outbox.add(new Request("/reports/" + id, Json.write(body)));
            }
        }
        flushPoints(points);
    }

    private void metrics(Map<?, ?> ev, List<String> points) {
        Object s = ev.get("s");
        Object t = ev.get("t");
        String time = t instanceof Number n ? Instant.ofEpochMilli((long) (n.doubleValue() * 1000)).toString() : null;
        if (!(ev.get("v") instanceof Map<?, ?> values)) {
            return;
        }
        for (Map.Entry<?, ?> e : values.entrySet()) {
            String key = String.valueOf(e.getKey());
            long step = s instanceof Number n ? n.longValue() : nextStep.getOrDefault(key, 0L);
            nextStep.merge(key, step + 1, Math::max);
            Double v = value(e.getValue());
            if (v == null) {
                continue; // not a value this SDK's writer wrote
            }
            StringBuilder p = new StringBuilder("{\"key\":");
            Json.appendString(p, key);
            p.append(",\"step\":").append(step).append(",\"value\":");
            Json.appendNumber(p, v);
            if (time != null) {
                p.append(",\"time\":\"").append(time).append('"');
            }
            points.add(p.append('}').toString());
            if (points.size() >= BATCH_POINTS) {
                flushPoints(points);
            }
        }
    }

    /**
     * A value as the events file has it: a number, or NaN and the infinities as the strings "NaN", "Infinity" and
     * "-Infinity", which go to the server as those same strings (it maps them back), so a diverging loss shows as NaN.
     */
    static Double value(Object o) {
        if (o instanceof Number n) {
            return n.doubleValue();
        }
        if (o instanceof String s) {
            return switch (s) {
                case "NaN" -> Double.NaN;
                case "Infinity" -> Double.POSITIVE_INFINITY;
                case "-Infinity" -> Double.NEGATIVE_INFINITY;
                default -> null;
            };
        }
        return null;
    }

    /**
     * A saved file (or each file of a saved folder): its bytes uploaded to the server's store, then recorded on the run
     * under its path relative to the working directory (its name when it lies outside), as a local run's.
     */
    private void artifact(Path saved, String kind) {
        List<Path> files = new ArrayList<>();
        try {
            if (Files.isDirectory(saved)) {
                try (var walk = Files.walk(saved)) {
                    walk.filter(Files::isRegularFile).sorted().forEach(files::add);
                }
            } else {
                files.add(saved);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            System.err.println("sortie: " + saved + " not saved: " + e.getMessage());
            return;
        }
        Path cwd = Path.of("").toAbsolutePath();
        List<String> records = new ArrayList<>();
        for (Path f : files) {
            String hash;
            long size;
            try {
                size = Files.size(f);
                hash = sha256(f);
            } catch (IOException e) {
                System.err.println("sortie: " + f + " not saved: " + e.getMessage());
                continue;
            }
            Path rel = f.startsWith(cwd) ? cwd.relativize(f) : saved.getParent() == null ? f.getFileName() : saved.getParent().relativize(f);
            outbox.add(new Request("/blobs/" + hash + "/upload", null, f, hash, size));
            StringBuilder r = new StringBuilder("{\"path\":");
            Json.appendString(r, rel.toString().replace(java.io.File.separatorChar, '/'));
            r.append(",\"hash\":\"").append(hash).append("\",\"size\":").append(size).append(",\"kind\":");
            Json.appendString(r, kind);
            records.add(r.append('}').toString());
        }
        if (!records.isEmpty()) {
            outbox.add(new Request("/reports/" + id, "{\"attempt\":1,\"artifacts\":[" + String.join(",", records) + "]}"));
        }
    }

    /** The store's name for a file's bytes: SHA-256, lowercase hex. */
    static String sha256(Path f) throws IOException {
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (var in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /**
     * Sends a saved file to the store in parts (the resumable upload 'sortie push' uses), from the bytes the server
     * has, so a server restarted mid-file costs only the part it was sent.
     */
    private String upload(Request r) throws IOException, InterruptedException, Refused {
        Object state = Json.parse(send(HttpRequest.newBuilder(URI.create(api + r.path())).GET(), r.path()));
        if (state instanceof Map<?, ?> m && Boolean.TRUE.equals(m.get("stored"))) {
            return "{}";
        }
        long offset = state instanceof Map<?, ?> m && m.get("size") instanceof Number n ? n.longValue() : 0;
        if (offset > r.size()) {
            offset = 0;
        }
        try (RandomAccessFile f = new RandomAccessFile(r.file().toFile(), "r")) {
            while (offset < r.size()) {
                byte[] part = new byte[(int) Math.min(BLOB_PART, r.size() - offset)];
                f.seek(offset);
                f.readFully(part);
                String path = r.path() + "?offset=" + offset;
                Object answer = Json.parse(send(HttpRequest.newBuilder(URI.create(api + path))
                        .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofByteArray(part)), path));
                if (answer instanceof Map<?, ?> m && Boolean.TRUE.equals(m.get("stored"))) {
                    return "{}";
                }
                offset = answer instanceof Map<?, ?> m && m.get("size") instanceof Number n ? n.longValue() : offset + part.length;
            }
        } catch (java.io.FileNotFoundException | java.io.EOFException e) {
            throw new Refused(r.file() + " changed or is gone since it was saved: " + e.getMessage());
        }
        send(HttpRequest.newBuilder(URI.create(api + r.path() + "/complete")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")), r.path() + "/complete");
        return "{}";
    }

    private void flushPoints(List<String> points) {
        if (!points.isEmpty()) {
            outbox.add(new Request("/reports/" + id, "{\"attempt\":1,\"metrics\":[" + String.join(",", points) + "]}"));
            points.clear();
        }
    }

    private String post(Request r) throws IOException, InterruptedException, Refused {
        if (r.file() != null) {
            return upload(r);
        }
        return send(HttpRequest.newBuilder(URI.create(api + r.path())).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(r.body(), StandardCharsets.UTF_8)), r.path());
    }

    private String send(HttpRequest.Builder b, String path) throws IOException, InterruptedException, Refused {
        HttpRequest req = b.timeout(TIMEOUT).header("Authorization", "Bearer " + token).build();
        HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        int status = resp.statusCode();
        if (status >= 400) {
            String message = resp.body();
            try {
                if (Json.parse(resp.body()) instanceof Map<?, ?> m && m.get("error") != null) {
                    message = String.valueOf(m.get("error"));
                }
            } catch (RuntimeException notJson) {
                // the body as it is
            }
            if (status == 408 || status == 429 || status >= 500) {
                throw new IOException(status + " " + message);
            }
            throw new Refused(status + " " + message);
        }
        return resp.body();
    }

    /**
     * Sends everything the file holds, waiting up to {@code SORTIE_REPORT_WAIT_S} for a server that does not answer.
     * {@code ifNoEnd}: a state to report when the file held no end (the process exits without closing the run).
     */
    void finish(String ifNoEnd, String error) {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(TIMEOUT.toMillis() + 5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long deadline = System.nanoTime() + exitWaitMs * 1_000_000L;
        int left;
        synchronized (lock) {
            try {
                read();
            } catch (IOException e) {
                System.err.println("sortie: cannot read the run's events file " + eventsFile + ": " + e);
            }
            if (!ended && ifNoEnd != null) {
                ended = true;
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("attempt", 1);
                body.put("state", ifNoEnd);
                body.put("error", error);
                outbox.add(new Request("/reports/" + id, Json.write(body)));
            }
            while (true) {
                try {
                    pass(true);
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() + backoffMs * 1_000_000L - deadline > 0) {
                        break;
                    }
                    try {
                        lock.wait(backoffMs);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            left = outbox.size();
        }
        if (left > 0) {
            System.err.println("sortie: the server at " + api + " did not answer for " + exitWaitMs / 1000 + " s; " + left
                    + " report(s) of run " + id + " were not sent (they are in " + eventsFile + ")");
        } else {
            try {
                Files.deleteIfExists(eventsFile);
            } catch (IOException e) {
                // a temp file; the OS cleans it
            }
        }
    }

    /** {@code (API URL, token)} from the environment, or null when not both are set. */
    static String[] settings(Map<String, String> env) {
        String token = trim(env.get("SORTIE_TOKEN"));
        String api = trim(env.get("SORTIE_API")).replaceAll("/+$", "");
        if (api.isEmpty()) {
            String server = trim(env.get("SORTIE_SERVER")).replaceAll("/+$", "");
            if (!server.isEmpty()) {
                api = server.endsWith("/api/v1") ? server : server + "/api/v1";
            }
        }
        if (api.isEmpty() || token.isEmpty()) {
            return null;
        }
        if (!api.startsWith("http://") && !api.startsWith("https://")) {
            throw new SortieException("sortie: '" + api + "' is not a server's URL (expected http(s)://HOST:PORT)");
        }
        return new String[] {api, token};
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }
}
