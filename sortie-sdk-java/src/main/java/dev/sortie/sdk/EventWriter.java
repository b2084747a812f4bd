package dev.sortie.sdk;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One run's events file: the in-memory buffer that {@code log()} appends to, and the daemon thread that turns it
 * into JSON lines.
 *
 * <p>The caller's side only stores what it was given (a name, a double, a step, a {@link System#nanoTime()})
 * in preallocated arrays under a short lock: no formatting, no allocation in the steady state, no I/O. The
 * flusher swaps the filled buffer for an empty one under that lock, then encodes and writes outside it, so
 * loggers never wait for the disk. Each flush is one {@code write} of whole {@code \n}-terminated lines on a
 * file opened with {@code O_APPEND} (sdk/PROTOCOL.md), so a reader never sees half an event unless the
 * process dies inside that write, and then only the last line is incomplete.
 */
final class EventWriter {
    static final long DEFAULT_FLUSH_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    static final int DEFAULT_FLUSH_POINTS = 10_000;
    /** Beyond this many buffered points log() flushes on the caller's thread: memory stays bounded. */
    static final int MAX_PENDING_POINTS = 1_000_000;
    /** The step of a metric logged without one. */
    static final long NO_STEP = Long.MIN_VALUE;

    /** Scalar points logged one after another with the same step share a line if this close in time. */
    private static final long GROUP_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final int MAX_GROUP = 64;
    private static final int MAX_CACHED_NAMES = 10_000;
    private static final int INITIAL_CAPACITY = 1024;
    /** A buffer that grew past this is dropped after its flush rather than kept for reuse. */
    private static final int MAX_RETAINED_CAPACITY = 1 << 17;
    /** Encoded events kept for a retry after failed writes, at most (then they are dropped, with a message). */
    private static final int MAX_UNWRITTEN_BYTES = 64 << 20;
    /** The encoding buffer is kept between flushes up to this size. */
    private static final int MAX_RETAINED_SINK_BYTES = 8 << 20;

    // Events other than single metric points, stored in the buffer's refs slot.
    record Metrics(String[] names, double[] values) {
    }

    record Params(String json) {
    }

    record Artifact(String path, String kind) {
    }

    record End(String status, String error) {
    }

    private final Path path;
    private final String label;
    private final long flushIntervalNanos;
    private final int flushPoints;
    private final FileOutputStream out;
    private final Thread flusher;

    private final Object lock = new Object(); // guards the fields below, up to the next blank line
    private Buffer current = new Buffer(INITIAL_CAPACITY);
    private Buffer spare = new Buffer(INITIAL_CAPACITY);
    private int pending; // points in current
    private boolean kicked; // the flusher was woken for a full buffer and has not swapped yet
    private boolean closed;

    private final Object flushLock = new Object(); // one flush at a time, so lines keep the order they were logged in
    private byte[] unwritten; // encoded but not written (after a failed write); guarded by flushLock
    private boolean fileClosed; // guarded by flushLock
    private boolean warned; // guarded by flushLock
    private final Map<String, byte[]> names = new HashMap<>(); // guarded by flushLock
    private final ByteSink sink = new ByteSink(64 * INITIAL_CAPACITY); // guarded by flushLock
    private String lastName; // guarded by flushLock
    private byte[] lastNameBytes; // guarded by flushLock
    private long timeSecond = Long.MIN_VALUE; // guarded by flushLock: the second of timeBytes
    private byte[] timeBytes = new byte[0]; // guarded by flushLock: "1718000000." for timeSecond

    private volatile boolean stopping;

    EventWriter(Path path, String label) throws IOException {
        this(path, label, DEFAULT_FLUSH_INTERVAL_NANOS, DEFAULT_FLUSH_POINTS);
    }

    EventWriter(Path path, String label, long flushIntervalNanos, int flushPoints) throws IOException {
        this.path = path;
        this.label = label;
        this.flushIntervalNanos = flushIntervalNanos;
        this.flushPoints = flushPoints;
        Path parent = path.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        this.out = new FileOutputStream(path.toFile(), true); // O_APPEND
        this.flusher = new Thread(this::loop, "sortie-flusher");
        flusher.setDaemon(true);
        flusher.start();
    }

    Path path() {
        return path;
    }

    // ------------------------------------------------------------------------------------------------------
    // The caller's side

    /** One metric point. The hot path: a few stores under an uncontended lock. */
    void add(String name, double value, long step) {
        long now = System.nanoTime();
        int p;
        synchronized (lock) {
            if (closed) {
                throw closedError();
            }
            Buffer b = current;
            int i = b.size;
            if (i == b.refs.length) {
                b.grow();
            }
            b.refs[i] = name;
            b.values[i] = value;
            b.steps[i] = step;
            b.nanos[i] = now;
            b.size = i + 1;
            p = ++pending;
            if (p < flushPoints || (kicked && p < MAX_PENDING_POINTS)) {
                return;
            }
            kicked = true;
        }
        full(p);
    }

    /** Any other event; {@code points} counts towards the next early flush, {@code soon} wakes the flusher now. */
    void addEvent(Object event, long step, int points, boolean soon) {
        long now = System.nanoTime();
        int p;
        boolean wake;
        synchronized (lock) {
            if (closed) {
                throw closedError();
            }
            append(current, event, step, now);
            p = pending += points;
            wake = soon || (p >= flushPoints && !kicked) || p >= MAX_PENDING_POINTS;
            if (wake) {
                kicked = true;
            }
        }
        if (wake) {
            full(p);
        }
    }

    private static void append(Buffer b, Object ref, long step, long now) {
        int i = b.size;
        if (i == b.refs.length) {
            b.grow();
        }
        b.refs[i] = ref;
        b.steps[i] = step;
        b.nanos[i] = now;
        b.size = i + 1;
    }

    private void full(int pendingPoints) {
        if (pendingPoints >= MAX_PENDING_POINTS) {
            // The flusher cannot keep up: the caller waits for the disk rather than memory growing without end.
            flushQuietly();
        } else {
            LockSupport.unpark(flusher);
        }
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("sortie: run " + label + " is closed; start a new run to log more");
    }

    // ------------------------------------------------------------------------------------------------------
    // Flushing

    private void loop() {
        while (!stopping) {
            LockSupport.parkNanos(this, flushIntervalNanos); // returns early when a full buffer unparks us
            Thread.interrupted(); // an interrupt must not turn the wait into a busy loop
            if (stopping) {
                break;
            }
            try {
                flush();
            } catch (Throwable e) {
                // never let the flusher die; flush() has already said why on stderr
            }
        }
    }

    /** Writes everything buffered so far: encoded, then one write of whole lines. */
    void flush() throws IOException {
        synchronized (flushLock) {
            Buffer b;
            synchronized (lock) {
                kicked = false;
                b = current;
                if (b.size == 0) {
                    pending = 0;
                    if (unwritten == null) {
                        return;
                    }
                    b = null;
                } else {
                    current = spare;
                    spare = null;
                    pending = 0;
                }
            }
            ByteSink data = sink;
            data.reset(MAX_RETAINED_SINK_BYTES);
            if (unwritten != null) {
                data.write(unwritten); // first, so lines keep their order
            }
            if (b != null) {
                try {
                    encode(b, data);
                } finally {
                    b.clear();
                    Buffer keep = b.refs.length > MAX_RETAINED_CAPACITY ? new Buffer(INITIAL_CAPACITY) : b;
                    synchronized (lock) {
                        spare = keep;
                    }
                }
            }
            if (fileClosed) {
                throw new IOException("the events file " + path + " is closed");
            }
            try {
                // FileOutputStream.write: one write(2) of all the lines (the JDK loops only after a short write,
                // and a reader waits for the newline anyway).
                data.writeTo(out);
                unwritten = null;
            } catch (IOException e) {
                unwritten = null;
                if (data.length() <= MAX_UNWRITTEN_BYTES) {
                    unwritten = data.toByteArray(); // kept for the next flush
                }
                if (!warned) {
                    warned = true;
                    System.err.println("sortie: cannot write events to " + path + ": " + e.getMessage()
                            + (unwritten != null ? " (will retry)" : " (" + data.length() + " bytes dropped)"));
                }
                throw e;
            }
        }
    }

    /** flush(), with a failure only reported on stderr (by flush, once). */
    void flushQuietly() {
        try {
            flush();
        } catch (IOException e) {
            // already reported
        }
    }

    /**
     * Appends {@code last} (if not null) as the final event, refuses further events, writes everything and
     * closes the file. A second call does nothing.
     */
    void close(Object last) throws IOException {
        synchronized (lock) {
            if (closed) {
                return;
            }
            if (last != null) {
                append(current, last, NO_STEP, System.nanoTime());
            }
            closed = true;
        }
        stopping = true;
        LockSupport.unpark(flusher);
        try {
            flush();
        } finally {
            synchronized (flushLock) {
                fileClosed = true;
                out.close();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Encoding (the flusher's thread, or whoever flushes; never log()'s caller)

    private void encode(Buffer b, ByteSink out) {
        Instant wall = Instant.now();
        long mono = System.nanoTime();
        long wallNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
        Object[] refs = b.refs;
        double[] values = b.values;
        long[] steps = b.steps;
        long[] nanos = b.nanos;
        int n = b.size;
        int i = 0;
        while (i < n) {
            Object ref = refs[i];
            long step = steps[i];
            long t = wallNanos - (mono - nanos[i]); // when it was logged, on the wall clock of this flush
            if (ref instanceof String name) {
                metricsHead(out, step, t);
                out.write(nameBytes(name)).number(values[i]);
                // Points logged together at one step (loss, then acc) share a line; a name already on it starts
                // a new one, so "the next step of each series" means the same as with one line per point.
                int first = i++;
                while (i < n && i - first < MAX_GROUP && refs[i] instanceof String next && steps[i] == step
                        && nanos[i] - nanos[first] <= GROUP_WINDOW_NANOS && !contains(refs, first, i, next)) {
                    out.write(',').write(nameBytes(next)).number(values[i]);
                    i++;
                }
                out.ascii("}}\n");
                continue;
            }
            if (ref instanceof Metrics m) {
                metricsHead(out, step, t);
                for (int k = 0; k < m.names.length; k++) {
                    if (k > 0) {
                        out.write(',');
                    }
                    out.write(nameBytes(m.names[k])).number(m.values[k]);
                }
                out.ascii("}}\n");
            } else if (ref instanceof Params p) {
                out.ascii("{\"e\":\"p\",\"t\":");
                time(out, t);
                out.ascii(",\"v\":").write(p.json.getBytes(StandardCharsets.UTF_8)).ascii("}\n");
            } else if (ref instanceof Artifact a) {
                out.ascii("{\"e\":\"a\",\"t\":");
                time(out, t);
                out.ascii(",\"path\":").string(a.path).ascii(",\"kind\":").string(a.kind).ascii("}\n");
            } else if (ref instanceof End e) {
                out.ascii("{\"e\":\"end\",\"t\":");
                time(out, t);
                out.ascii(",\"status\":").string(e.status);
                if (e.error != null) {
                    out.ascii(",\"error\":").string(e.error);
                }
                out.ascii("}\n");
            }
            i++;
        }
    }

    /** {@code "name":}, encoded once per name (the same few names come back at every step). */
    private byte[] nameBytes(String name) {
        if (name == lastName) {
            return lastNameBytes;
        }
        byte[] bytes = names.get(name);
        if (bytes == null) {
            if (names.size() >= MAX_CACHED_NAMES) {
                names.clear();
                lastName = null;
            }
            bytes = new ByteSink(name.length() + 3).string(name).write(':').toByteArray();
            names.put(name, bytes);
        }
        lastName = name;
        lastNameBytes = bytes;
        return bytes;
    }

    private void metricsHead(ByteSink out, long step, long t) {
        out.ascii("{\"e\":\"m\",");
        if (step != NO_STEP) {
            out.ascii("\"s\":").write(step).write(',');
        }
        out.ascii("\"t\":");
        time(out, t);
        out.ascii(",\"v\":{");
    }

    private static boolean contains(Object[] refs, int from, int to, String name) {
        for (int k = from; k < to; k++) {
            if (name.equals(refs[k])) {
                return true;
            }
        }
        return false;
    }

    /** appendTime, with the seconds' digits reused from the line before (they seldom change). */
    private void time(ByteSink out, long epochNanos) {
        long micros = Math.floorDiv(epochNanos, 1000L);
        long second = Math.floorDiv(micros, 1_000_000L);
        if (second != timeSecond) {
            timeSecond = second;
            timeBytes = new ByteSink(24).write(second).write('.').toByteArray();
        }
        out.write(timeBytes).writePadded(Math.floorMod(micros, 1_000_000L), 6);
    }

    /** Unix epoch seconds with microseconds: 1718000000.123456. */
    static void appendTime(ByteSink out, long epochNanos) {
        long micros = Math.floorDiv(epochNanos, 1000L);
        out.write(Math.floorDiv(micros, 1_000_000L)).write('.').writePadded(Math.floorMod(micros, 1_000_000L), 6);
    }

    /** Parallel arrays: refs[i] is a metric name (a point with values[i]) or one of the event records. */
    private static final class Buffer {
        Object[] refs;
        double[] values;
        long[] steps;
        long[] nanos;
        int size;

        Buffer(int capacity) {
            refs = new Object[capacity];
            values = new double[capacity];
            steps = new long[capacity];
            nanos = new long[capacity];
        }

        void grow() {
            int capacity = refs.length * 2;
            refs = Arrays.copyOf(refs, capacity);
            values = Arrays.copyOf(values, capacity);
            steps = Arrays.copyOf(steps, capacity);
            nanos = Arrays.copyOf(nanos, capacity);
        }

        void clear() {
            Arrays.fill(refs, 0, size, null);
            size = 0;
        }
    }
}
