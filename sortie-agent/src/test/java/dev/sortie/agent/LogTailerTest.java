package dev.sortie.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogTailerTest {
    @TempDir
    Path dir;

    private void append(Path f, byte[] bytes) throws Exception {
        Files.write(f, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Test
    void handsOutCompleteLinesOnlyUntilDrained() throws Exception {
        Path log = dir.resolve("out.log");
        List<String> lines = new ArrayList<>();
        try (LogTailer t = new LogTailer(log, 0)) {
            assertThat(t.pump(lines::add)).isZero(); // not created yet
            append(log, "one\ntw".getBytes(StandardCharsets.UTF_8));
            t.pump(lines::add);
            assertThat(lines).containsExactly("one");
            append(log, "o\r\nthree".getBytes(StandardCharsets.UTF_8));
            t.pump(lines::add);
            assertThat(lines).containsExactly("one", "two");
            t.drain(lines::add);
            assertThat(lines).containsExactly("one", "two", "three");
        }
    }

    @Test
    void startsWhereToldAndSurvivesBadUtf8() throws Exception {
        Path log = dir.resolve("out.log");
        append(log, "old\n".getBytes(StandardCharsets.UTF_8));
        long start = Files.size(log);
        append(log, new byte[] {'a', (byte) 0xff, 'b', '\n'});
        List<String> lines = new ArrayList<>();
        try (LogTailer t = new LogTailer(log, start)) {
            t.drain(lines::add);
        }
        assertThat(lines).containsExactly("a\uFFFDb");
    }

    @Test
    void passesBytesOnAsWrittenAndSkipsLinesOverTheLimit() throws Exception {
        Path log = dir.resolve("out.log");
        byte[] big = new byte[100_000];
        java.util.Arrays.fill(big, (byte) 'x');
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        all.write("loss=1\n".getBytes(StandardCharsets.UTF_8));
        all.write(big);
        all.write(new byte[] {(byte) 0xff, (byte) 0xfe, (byte) 0xe2, (byte) 0x82}); // not UTF-8, and a cut character
        all.write("\nloss=2\n".getBytes(StandardCharsets.UTF_8));
        append(log, all.toByteArray());
        List<String> lines = new ArrayList<>();
        java.io.ByteArrayOutputStream copy = new java.io.ByteArrayOutputStream();
        try (LogTailer t = new LogTailer(log, 0, 1024)) {
            t.drain(copy::write, lines::add);
            assertThat(t.overlongLines()).isEqualTo(1);
        }
        assertThat(copy.toByteArray()).isEqualTo(all.toByteArray());
        assertThat(lines).containsExactly("loss=1", "loss=2");
    }

    @Test
    void anOverlongLastLineWithoutNewlineIsCountedNotHanded() throws Exception {
        Path log = dir.resolve("out.log");
        append(log, ("ok\n" + "y".repeat(5000)).getBytes(StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        try (LogTailer t = new LogTailer(log, 0, 4096)) {
            t.pump(lines::add);
            append(log, "y".repeat(5000).getBytes(StandardCharsets.UTF_8));
            t.drain(lines::add);
            assertThat(t.overlongLines()).isEqualTo(1);
        }
        assertThat(lines).containsExactly("ok");
    }
}
