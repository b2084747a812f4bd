package dev.sortie.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sortie.cli.commands.RemoveCommand;
import dev.sortie.cli.commands.RunCommand;
import dev.sortie.cli.commands.ShowCommand;
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
}
