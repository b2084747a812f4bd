package dev.sortie.sdk;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable UTF-8 byte buffer that JSON is encoded straight into, with no intermediate strings: the flusher's
 * encoder (what keeps it ahead of a tight logging loop is mostly not allocating).
 */
final class ByteSink {
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final double TWO_POW_53 = 9_007_199_254_740_992.0;
    private static final double[] POW10 = new double[23]; // exact powers of ten: 10^0 .. 10^22
    private static final long[] LONG_POW10 = new long[19]; // 10^0 .. 10^18

    static {
        double p = 1;
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = p;
            p *= 10;
        }
        long q = 1;
        for (int i = 0; i < LONG_POW10.length; i++) {
            LONG_POW10[i] = q;
            q *= 10;
        }
    }

    private byte[] buf;
    private int len;

    ByteSink(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    int length() {
        return len;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    private void ensure(int extra) {
        if (len + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
        }
    }

    ByteSink write(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        return this;
    }

    ByteSink write(char asciiChar) {
        ensure(1);
        buf[len++] = (byte) asciiChar;
        return this;
    }

    /** A string known to be ASCII with nothing to escape (the protocol's own keywords). */
    ByteSink ascii(String s) {
        int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            buf[len++] = (byte) s.charAt(i);
        }
        return this;
    }

    /** A decimal integer. */
    ByteSink write(long v) {
        if (v >= 0 && v <= Integer.MAX_VALUE) {
            return write((int) v);
        }
        if (v < 0) {
            if (v == Long.MIN_VALUE) {
                return ascii("-9223372036854775808");
            }
            write('-');
            v = -v;
        }
        if (v <= Integer.MAX_VALUE) {
            return write((int) v);
        }
        // 10 low digits in int arithmetic (cheaper than long division), the rest first
        long high = v / 1_000_000_000L;
        write(high);
        return writeDigits((int) (v - high * 1_000_000_000L), 9);
    }

    /** A non-negative int. */
    ByteSink write(int v) {
        return writeDigits(v, digits(v));
    }

    /** Exactly {@code count} decimal digits of {@code v} (v >= 0), zero-padded on the left. */
    private ByteSink writeDigits(int v, int count) {
        ensure(count);
        int end = len + count;
        for (int i = end - 1; i >= len; i--) {
            int q = v / 10;
            buf[i] = (byte) ('0' + (v - q * 10));
            v = q;
        }
        len = end;
        return this;
    }

    private static int digits(int v) {
        int d = 1;
        for (int p = 10; d < 10 && v >= p; p *= 10) {
            d++;
        }
        return d;
    }

    /** Writes the bytes so far to {@code out} in one call. */
    void writeTo(java.io.OutputStream out) throws java.io.IOException {
        out.write(buf, 0, len);
    }

    /** Empties it, keeping the array unless it grew past {@code maxRetained} bytes. */
    void reset(int maxRetained) {
        len = 0;
        if (buf.length > maxRetained) {
            buf = new byte[maxRetained];
        }
    }

    /** {@code v} zero-padded to {@code width} digits ({@code v >= 0}). */
    ByteSink writePadded(long v, int width) {
        if (v <= Integer.MAX_VALUE) {
            int n = (int) v;
            return writeDigits(n, Math.max(width, digits(n)));
        }
        int digits = Long.toString(v).length();
        ensure(Math.max(width, digits));
        for (int i = digits; i < width; i++) {
            buf[len++] = '0';
        }
        return write(v);
    }

    /** {@code s} as a JSON string, quotes included, in UTF-8. */
    ByteSink string(String s) {
        int n = s.length();
        ensure(n + 2);
        buf[len++] = '"';
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (c >= 0x20 && c != '"' && c != '\\') {
                    ensure(1);
                    buf[len++] = (byte) c;
                } else {
                    escape(c);
                }
            } else if (c < 0x800) {
                ensure(2);
                buf[len++] = (byte) (0xC0 | (c >> 6));
                buf[len++] = (byte) (0x80 | (c & 0x3F));
            } else if (c == 0x2028 || c == 0x2029) {
                escape(c);
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                ensure(4);
                buf[len++] = (byte) (0xF0 | (cp >> 18));
                buf[len++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                buf[len++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                buf[len++] = (byte) (0x80 | (cp & 0x3F));
            } else if (Character.isSurrogate(c)) {
                write('?'); // a lone surrogate has no UTF-8 form (as String.getBytes does)
            } else {
                ensure(3);
                buf[len++] = (byte) (0xE0 | (c >> 12));
                buf[len++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                buf[len++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return write('"');
    }

    private void escape(char c) {
        switch (c) {
            case '"' -> ascii("\\\"");
            case '\\' -> ascii("\\\\");
            case '\n' -> ascii("\\n");
            case '\r' -> ascii("\\r");
            case '\t' -> ascii("\\t");
            case '\b' -> ascii("\\b");
            case '\f' -> ascii("\\f");
            default -> {
                ensure(6);
                buf[len++] = '\\';
                buf[len++] = 'u';
                buf[len++] = HEX[(c >> 12) & 0xF];
                buf[len++] = HEX[(c >> 8) & 0xF];
                buf[len++] = HEX[(c >> 4) & 0xF];
                buf[len++] = HEX[c & 0xF];
            }
        }
    }

    /**
     * A double as JSON: the protocol's strings for NaN and the infinities, whole values as integers, and others
     * as the shortest decimal found that reads back as exactly {@code v}.
     */
    ByteSink number(double v) {
        if (v != v) {
            return ascii("\"NaN\"");
        }
        if (v == Double.POSITIVE_INFINITY) {
            return ascii("\"Infinity\"");
        }
        if (v == Double.NEGATIVE_INFINITY) {
            return ascii("\"-Infinity\"");
        }
        double a = Math.abs(v);
        if (a <= TWO_POW_53 && a == (long) a) {
            return write((long) v);
        }
        if (a >= 1e-3 && a < 1e15) { // smaller ones are shorter with an exponent
            // m / 10^d with m < 2^53 and d <= 22: both exact in a double, so the division is correctly rounded,
            // as is parsing the decimal "m e-d"; if it gives back v, that decimal is v.
            for (int d = 1; d < POW10.length; d++) {
                double scaled = a * POW10[d];
                if (scaled >= TWO_POW_53) {
                    break;
                }
                long m = (long) (scaled + 0.5);
                if (m / POW10[d] == a) {
                    if (v < 0) {
                        write('-');
                    }
                    long whole = d < LONG_POW10.length ? m / LONG_POW10[d] : 0; // m < 2^53 < 10^16
                    write(whole).write('.');
                    return writePadded(d < LONG_POW10.length ? m - whole * LONG_POW10[d] : m, d);
                }
            }
        }
        return ascii(Double.toString(v)); // "1.0E-7", "1.5E300": valid JSON numbers
    }
}
