package dev.sortie.cli.commands;

import dev.sortie.cli.Main;
import dev.sortie.cli.output.Table;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.executor.ExecutorSpec;
import java.util.List;
import java.util.concurrent.Callable;
import dev.sortie.executor.ssh.HostReport;
import dev.sortie.executor.ssh.SshConnectionException;
import dev.sortie.executor.ssh.SshExecutor;
import dev.sortie.executor.ssh.SshPaths;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "executor", mixinStandardHelpOptions = true,
        description = "Executors: named places to run ('local', and those in .sortie/config.yaml or the user's config).",
        subcommands = {ExecutorCommand.ListExecutors.class, ExecutorCommand.ShowExecutor.class, ExecutorCommand.TestExecutor.class})
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
            Table t = new Table(List.of("name", "type", "config"));
            for (String n : r.names()) {
                String state;
                try {
                    r.get(n); // validates the executor's settings
                    state = "ok";
                } catch (dev.sortie.core.config.ConfigException e) {
                    state = e.getMessage();
                }
                t.add(List.of(n, r.spec(n).type(), state));
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

    @Command(name = "test", mixinStandardHelpOptions = true,
            description = {"Connect to an executor and report what the host is: OS, CPUs, memory, free disk, GPUs, Java,",
                    "and whether it can run Sortie (what is missing and how to fix it)."})
    static final class TestExecutor implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--accept-new-host-key", description = "Trust and record the host key of an ssh host not yet in known_hosts (check its fingerprint first).")
        boolean acceptNewHostKey;

        @Override
        public Integer call() throws Exception {
            var executor = parent.main.context().executors().get(name);
            if (executor instanceof SshExecutor ssh) {
                if (acceptNewHostKey) {
                    ssh = new SshExecutor(ssh.config().withAcceptNewHostKey(true), SshPaths.defaults());
                }
                HostReport report;
                try {
                    report = ssh.test();
                } catch (SshConnectionException e) {
                    System.err.println("sortie: executor '" + name + "': " + e.getMessage());
                    return dev.sortie.core.engine.ExitCodes.INFRASTRUCTURE;
                }
                System.out.print(report.render());
                return report.canRunSortie() ? 0 : dev.sortie.core.engine.ExitCodes.INFRASTRUCTURE;
            }
            System.out.println(name + ": " + executor.type() + " executor on this machine; nothing to connect to");
            return 0;
        }
    }
}
