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
}
