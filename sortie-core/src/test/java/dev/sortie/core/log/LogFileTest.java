package dev.sortie.core.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogFileTest {
    @TempDir
    Path tmp;

    private static LogRecord record(Level level, String message, Object... params) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("dev.sortie.agent.SystemSampler");
        r.setParameters(params.length == 0 ? null : params);
        return r;
    }

    @Test
    void createsTheFileAndItsFolderOnlyWhenARecordComes() throws IOException {
        Path file = tmp.resolve(".sortie/logs/sortie.log");
        Files.createDirectory(tmp.resolve(".sortie"));
        LogFile log = LogFile.at(file);
        log.flush();
        log.close();
        assertThat(tmp.resolve(".sortie/logs")).doesNotExist();

        log = LogFile.at(file);
        log.publish(record(Level.FINE, "skipped {0}: {1}", "/proc/stat", "gone"));
        log.close();
        String text = Files.readString(file);
        assertThat(text).matches("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z " + ProcessHandle.current().pid()
                + " DEBUG agent.SystemSampler: skipped /proc/stat: gone\n");
        assertThat(Files.readString(file.resolveSibling(".gitignore"))).isEqualTo("*\n"); // never committed by accident
    }

    @Test
    void neverMakesTheFolderItsOwnFolderLivesIn() throws IOException {
        // rm -rf .sortie during a run: the CLI's last words (a warning) made .sortie/logs/ again, and so .sortie/.
        Path file = tmp.resolve(".sortie/logs/sortie.log");
        LogFile log = LogFile.at(file);
        log.publish(record(Level.WARNING, "the result could not be recorded"));
        assertThat(tmp.resolve(".sortie")).doesNotExist();

        Files.createDirectory(tmp.resolve(".sortie")); // the project is made (again): what was kept comes first
        log.publish(record(Level.INFO, "later"));
        log.close();
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).endsWith("the result could not be recorded");
        assertThat(lines.get(1)).endsWith("later");
    }

    @Test
    void keepsRecordsUntilTheFileIsKnownThenWritesThemFirst() throws IOException {
        LogFile log = new LogFile(1 << 20, 3);
        for (int i = 1; i <= 5; i++) {
            log.publish(record(Level.WARNING, "early " + i));
        }
        Path file = tmp.resolve("logs/sortie.log");
        assertThat(file.getParent()).doesNotExist();
        log.attach(file);
        log.publish(record(Level.INFO, "late"));
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0)).contains("2 earlier records were dropped");
        assertThat(lines.subList(1, 5)).allSatisfy(l -> assertThat(l).containsPattern(" (WARNING|INFO) "))
                .extracting(l -> l.substring(l.indexOf(": ") + 2)).containsExactly("early 3", "early 4", "early 5", "late");
    }

    @Test
    void writesTheStackTraceIndentedUnderItsRecord() throws IOException {
        Path file = tmp.resolve("sortie.log");
        LogFile log = LogFile.at(file);
        LogRecord r = record(Level.WARNING, "could not read the metric file");
        r.setThrown(new IOException("Permission denied", new IllegalStateException("the cause")));
        log.publish(r);
        log.publish(record(Level.INFO, "next"));
        List<String> lines = Files.readAllLines(file);
        assertThat(lines.get(0)).endsWith("WARNING agent.SystemSampler: could not read the metric file");
        assertThat(lines.get(1)).isEqualTo("    java.io.IOException: Permission denied");
        assertThat(lines.get(2)).startsWith("    \tat dev.sortie.core.log.LogFileTest.writesTheStackTrace");
        assertThat(lines).anyMatch(l -> l.startsWith("    Caused by: java.lang.IllegalStateException: the cause"));
        assertThat(lines.get(lines.size() - 1)).endsWith("INFO agent.SystemSampler: next"); // nothing between
        assertThat(lines.subList(1, lines.size() - 1)).allMatch(l -> l.startsWith("    "));
    }

    @Test
    void rotatesPastItsSizeToDotOne() throws IOException {
        Path file = tmp.resolve("sortie.log");
        LogFile log = new LogFile(1000, 10);
        log.attach(file);
        for (int i = 0; i < 25; i++) {
            log.publish(record(Level.INFO, "record " + i + " " + "x".repeat(50)));
        }
        Path old = tmp.resolve("sortie.log.1");
        assertThat(old).exists();
        assertThat(Files.size(old)).isBetween(1000L, 1200L);
        assertThat(Files.size(file)).isLessThan(1000L);
        List<String> all = new ArrayList<>(Files.readAllLines(old));
        all.addAll(Files.readAllLines(file));
        assertThat(all.get(all.size() - 1)).contains("record 24 ");
        assertThat(tmp.resolve("sortie.log.2")).doesNotExist();
    }

    @Test
    void threadsAppendWholeLines() throws Exception {
        Path file = tmp.resolve("sortie.log");
        LogFile log = LogFile.at(file);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int n = t;
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    log.publish(record(Level.INFO, "thread " + n + " record " + i));
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread t : threads) {
            t.join(30_000);
        }
        assertThat(Files.readAllLines(file)).hasSize(800).allMatch(l -> l.matches(".* INFO agent.SystemSampler: thread \\d record \\d+"));
    }

    /** Two processes share one file: O_APPEND keeps each record whole, neither overwrites the other. */
    @Test
    @Tag("integration")
    void processesAppendToOneFile() throws Exception {
        Path file = tmp.resolve("shared/sortie.log");
        List<Process> writers = new ArrayList<>();
        for (int p = 0; p < 2; p++) {
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            writers.add(new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp", cp,
                    Writer.class.getName(), file.toString(), "300").redirectErrorStream(true).start());
        }
        for (Process w : writers) {
            assertThat(w.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(w.exitValue()).as(new String(w.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        }
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(600).allMatch(l -> l.matches(".* \\d+ WARNING dev.other: record \\d+ y+"));
        assertThat(lines.stream().map(l -> l.split(" ")[1]).distinct()).hasSize(2);
    }

    /** The second process of {@link #processesAppendToOneFile}. */
    public static final class Writer {
        public static void main(String[] args) {
            LogFile log = LogFile.at(Path.of(args[0]));
            for (int i = 0; i < Integer.parseInt(args[1]); i++) {
                LogRecord r = new LogRecord(Level.WARNING, "record " + i + " " + "y".repeat(200));
                r.setLoggerName("dev.other");
                log.publish(r);
            }
            log.close();
        }
    }

    @Test
    void theConsoleGetsOneLineWithoutTheStackTraceUnlessAskedFor() {
        LogRecord r = record(Level.FINE, "checkpoint record {0} skipped", 3);
        r.setThrown(new IllegalArgumentException("bad json"));
        StringWriter out = new StringWriter();
        new ConsoleLog(new PrintWriter(out), false).publish(r);
        assertThat(out.toString()).isEqualTo("sortie: DEBUG agent.SystemSampler: checkpoint record 3 skipped "
                + "(java.lang.IllegalArgumentException: bad json)\n");
        StringWriter traced = new StringWriter();
        new ConsoleLog(new PrintWriter(traced), true).publish(r);
        assertThat(traced.toString()).startsWith("sortie: DEBUG agent.SystemSampler: checkpoint record 3 skipped\n"
                + "    java.lang.IllegalArgumentException: bad json\n    \tat ");
    }
}
