package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.cli.commands.RemoveCommand;
import dev.sortie.cli.commands.RunCommand;
import dev.sortie.cli.commands.ShowCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Only the command a command line names is built; help and typos get every command. */
class MainCommandLineTest {
    @Test
    void findsTheCommandACommandLineNames() {
        assertThat(Main.namedCommand("run", "-e", "gpu1", "--", "python", "show")).isEqualTo(RunCommand.class);
        assertThat(Main.namedCommand("-C", "some/dir", "show", "--json")).isEqualTo(ShowCommand.class);
        assertThat(Main.namedCommand("rm", "exp-1")).isEqualTo(RemoveCommand.class);
        assertThat(Main.namedCommand("-v", "show")).isEqualTo(ShowCommand.class);
        assertThat(Main.namedCommand("--verbose", "-C", "d", "-vv", "show")).isEqualTo(ShowCommand.class);
        assertThat(Main.namedCommand()).isNull();
        assertThat(Main.namedCommand("--help")).isNull();
        assertThat(Main.namedCommand("help", "run")).isNull();
        assertThat(Main.namedCommand("sow")).isNull();
        assertThat(Main.namedCommand("-C")).isNull();
    }

    @Test
    void buildsOnlyThatCommandOrEveryCommand() {
        assertThat(Main.commandLine(new Main(), "show").getSubcommands()).containsOnlyKeys("show");
        assertThat(Main.commandLine(new Main(), "rm", "x").getSubcommands()).containsOnlyKeys("remove", "rm");
        assertThat(Main.commandLine(new Main(), "--help").getSubcommands()).hasSize(Main.COMMANDS.size() + 1) // rm: an alias
                .containsKeys("init", "run", "show", "status", "logs", "stop", "retry", "remove", "executor", "help");
        assertThat(Main.commandLine(new Main(), "sow").getSubcommands()).containsKey("show");
    }

    @Test
    void anUnknownCommandWithHelpIsAUsageErrorWithASuggestion() {
        for (String[] args : new String[][] {{"shw", "--help"}, {"--help", "shw"}, {"-C", ".", "shw", "-h"}}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream oldOut = System.out;
            PrintStream oldErr = System.err;
            int code;
            try {
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
                code = Main.execute(args);
            } finally {
                System.setOut(oldOut);
                System.setErr(oldErr);
            }
            assertThat(code).as(String.join(" ", args)).isEqualTo(2);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("'shw'").contains("Did you mean").contains("show");
            assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("Usage:");
        }
    }

    @Test
    void aTypoOfASubcommandSuggestsTheNearestByEditDistance() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.execute("executor", "lst");
        } finally {
            System.setErr(oldErr);
        }
        assertThat(code).isEqualTo(2);
        // picocli's own suggestion was 'test' (letters in common); one edit away is 'list'
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("Did you mean: sortie executor list?").doesNotContain("executor test");
    }

    @Test
    void helpForAKnownCommandStillExitsZero() {
        assertThat(Main.execute("show", "--help")).isZero();
        assertThat(Main.execute("--help")).isZero();
        assertThat(Main.execute("help", "run")).isZero();
    }
}
