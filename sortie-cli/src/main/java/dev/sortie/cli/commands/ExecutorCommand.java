package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.cli.CliContext;
import dev.sortie.cli.ExecutorConfigFile;
import dev.sortie.cli.Main;
import dev.sortie.cli.output.Table;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.executor.remote.host.HostProbe;
import dev.sortie.executor.remote.host.HostReport;
import dev.sortie.executor.ssh.SshConnection;
import dev.sortie.executor.ssh.SshConnectionException;
import dev.sortie.executor.ssh.SshExecutor;
import dev.sortie.executor.ssh.SshPaths;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "executor", mixinStandardHelpOptions = true,
        description = "Executors: named places to run ('local', and those in .sortie/config.yaml or the user's config).",
        subcommands = {ExecutorCommand.AddExecutor.class, ExecutorCommand.ListExecutors.class, ExecutorCommand.ShowExecutor.class,
                ExecutorCommand.TestExecutor.class, ExecutorCommand.RemoveExecutor.class})
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
            description = {"Connect to an executor and report what the host is: OS, CPUs, memory, GPUs, Java, free disk and",
                    "whether remote_dir can be written, and whether it can run Sortie (what is missing and how to fix it).",
                    "Exits 3 when something is missing; warnings (little disk, a failing nvidia-smi) do not change the exit code."})
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
                try (SshConnection c = ssh.connect()) {
                    // the executor's own remote_dir is the one checked for being writable and for free disk
                    report = HostProbe.probe(c, ssh.config().remoteDir());
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

    @Command(name = "add", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Configure an executor: in the project's .sortie/config.yaml (committed with it), or with --global in",
                    "the user's config file. Its settings are checked before anything is written."},
            footer = {"", "Examples:", "  sortie executor add gpu1 --type ssh --host gpu1.example.com --user me --identity ~/.ssh/id_ed25519",
                    "  sortie executor add box --type ssh --host box        # 'box' may be a Host alias of ~/.ssh/config",
                    "  sortie executor add gpus --type pool --hosts gpu1,gpu2 --gpus-per-slot 1   # one run per GPU of each host"})
    static final class AddExecutor implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--type", required = true, paramLabel = "TYPE", description = "The executor type, e.g. ssh.")
        String type;

        @Option(names = "--host", paramLabel = "HOST", description = "ssh: host name, address or ~/.ssh/config alias.")
        String host;

        @Option(names = "--port", paramLabel = "N", description = "ssh: port (default 22, or the ssh config's).")
        Integer port;

        @Option(names = "--user", paramLabel = "USER", description = "ssh: user (default: yours, or the ssh config's).")
        String user;

        @Option(names = "--identity", paramLabel = "FILE", description = "ssh: private key file.")
        String identity;

        @Option(names = "--remote-dir", paramLabel = "DIR", description = "ssh, pool: where Sortie keeps its things on the host (default ~/.sortie).")
        String remoteDir;

        @Option(names = "--lost-after", paramLabel = "DURATION", description = "ssh, pool: a host silent this long is lost (default 5m).")
        String lostAfter;

        @Option(names = "--hosts", paramLabel = "NAME,...", split = ",", description = "pool: the ssh executors it is made of.")
        List<String> hosts;

        @Option(names = "--slots", paramLabel = "N", description = "pool: runs per host (default: one per GPU, 1 without).")
        Integer slots;

        @Option(names = "--gpus-per-slot", paramLabel = "N", description = "pool: GPUs per run (default 1).")
        Integer gpusPerSlot;

        @Option(names = "--global", description = "Write to the user's config file instead of the project's.")
        boolean global;

        @Option(names = {"-f", "--force"}, description = "Replace an executor of that name.")
        boolean force;

        @Override
        public Integer call() throws Exception {
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
                throw new IllegalArgumentException("'" + name + "' is not a valid executor name (letters, digits, '.', '_', '-')");
            }
            if (name.equals(ExecutorRegistry.LOCAL)) {
                throw new IllegalArgumentException("'local' is built in and cannot be redefined");
            }
            var context = parent.main.context();
            ObjectNode settings = new ObjectMapper().createObjectNode();
            settings.put("type", type);
            if (host != null) {
                settings.put("host", host);
            }
            if (port != null) {
                settings.put("port", port);
            }
            if (user != null) {
                settings.put("user", user);
            }
            if (identity != null) {
                settings.put("identity", identity);
            }
            if (remoteDir != null) {
                settings.put("remote_dir", remoteDir);
            }
            if (lostAfter != null) {
                settings.put("lost_after", lostAfter);
            }
            if (hosts != null) {
                hosts.forEach(settings.putArray("hosts")::add);
            }
            if (slots != null) {
                settings.put("slots", slots);
            }
            if (gpusPerSlot != null) {
                settings.put("gpus_per_slot", gpusPerSlot);
            }
            context.executors().validate(new ExecutorSpec(name, type, settings));
            ExecutorConfigFile file = new ExecutorConfigFile(global ? CliContext.userConfigPath() : context.paths().configFile());
            if (file.has(name) && !force) {
                throw new IllegalArgumentException("an executor named '" + name + "' exists in " + file.file() + "; use --force to replace it");
            }
            file.put(name, settings);
            System.err.println("sortie: added executor " + name + " (" + type + ") to " + file.file()
                    + (type.equals("ssh") ? "; check it with 'sortie executor test " + name + "'" : ""));
            return 0;
        }
    }

    @Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true, description = "Remove an executor from the project's (or with --global the user's) config file.")
    static final class RemoveExecutor implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--global", description = "Remove it from the user's config file.")
        boolean global;

        @Override
        public Integer call() throws Exception {
            var context = parent.main.context();
            ExecutorConfigFile file = new ExecutorConfigFile(global ? CliContext.userConfigPath() : context.paths().configFile());
            if (!file.remove(name)) {
                throw new dev.sortie.core.engine.NotFoundException("no executor '" + name + "' in " + file.file()
                        + " (configured: " + String.join(", ", context.executors().names()) + ")");
            }
            System.err.println("sortie: removed executor " + name + " from " + file.file());
            return 0;
        }
    }
}
