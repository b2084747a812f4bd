package dev.sortie.cli.commands;

import dev.sortie.cli.Main;
import dev.sortie.cli.output.Table;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.executor.ExecutorSpec;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "executor", mixinStandardHelpOptions = true,
        description = "Executors: named places to run ('local', and those in .sortie/config.yaml or the user's config).",
        subcommands = {ExecutorCommand.ListExecutors.class, ExecutorCommand.ShowExecutor.class})
public final class ExecutorCommand {
    @ParentCommand
    Main main;

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List configured executors.")
    static final class ListExecutors implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @ArgGroup(exclusive = true)
        OutputFormat format;

        @Override
        public Integer call() {
            ExecutorRegistry r = parent.main.context().executors();
            Table t = new Table(List.of("name", "type"));
            for (String n : r.names()) {
                t.add(List.of(n, r.spec(n).type()));
            }
            t.print(OutputFormat.of(format), System.out);
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one executor's settings.")
    static final class ShowExecutor implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            ExecutorSpec s = parent.main.context().executors().spec(name);
            System.out.println("name: " + s.name());
            System.out.println("type: " + s.type());
            if (s.options() != null) {
                System.out.println("settings: " + s.options());
            }
            return 0;
        }
    }
}
