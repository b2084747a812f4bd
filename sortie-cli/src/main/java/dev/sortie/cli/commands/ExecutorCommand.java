package dev.sortie.cli.commands;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.cli.CliContext;
import dev.sortie.cli.ExecutorConfigFile;
import dev.sortie.cli.Main;
import dev.sortie.cli.output.Table;
import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.executor.CheckOptions;
import dev.sortie.core.executor.ExecutorCheck;
import dev.sortie.core.executor.ExecutorOption;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

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
                    "Exits 3 when something is missing; warnings (little disk, a failing nvidia-smi) do not change the exit code.",
                    "Each executor type checks its own way; a local executor has nothing to connect to."})
    static final class TestExecutor implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME")
        String name;

        /** The options the executor types contributed (see {@link #contribute}). */
        private List<ExecutorOption> contributed = List.of();

        @Override
        public Integer call() throws Exception {
            ExecutorRegistry executors = parent.main.context().executors();
            var executor = executors.get(name);
            ExecutorCheck check = executors.provider(executors.spec(name).type()).check(executor, new CheckOptions(values(spec, contributed)));
            System.out.print(check.report());
            if (check.error() != null) {
                System.err.println("sortie: executor '" + name + "': " + check.error());
            }
            return check.exitCode();
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Configure an executor: in the project's .sortie/config.yaml (committed with it), or with --global in",
                    "the user's config file. Its settings are checked before anything is written.",
                    "Each executor type takes its own options, listed below by type."})
    static final class AddExecutor implements Callable<Integer> {
        @ParentCommand
        ExecutorCommand parent;

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--type", required = true, paramLabel = "TYPE", description = "The executor type (those below, by their options).")
        String type;

        @Option(names = "--global", description = "Write to the user's config file instead of the project's.")
        boolean global;

        @Option(names = {"-f", "--force"}, description = "Replace an executor of that name.")
        boolean force;

        /** The options the executor types contributed (see {@link #contribute}), each once. */
        private List<ExecutorOption> contributed = List.of();

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
            // Whatever was given goes into the settings; the type's own validation says which it does not take.
            for (Map.Entry<String, Object> e : values(spec, contributed).entrySet()) {
                Object v = e.getValue();
                if (v instanceof Integer i) {
                    settings.put(e.getKey(), i);
                } else if (v instanceof List<?> list) {
                    ArrayNode a = settings.putArray(e.getKey());
                    list.forEach(x -> a.add(String.valueOf(x)));
                } else if (v instanceof Boolean b) {
                    settings.put(e.getKey(), b);
                } else {
                    settings.put(e.getKey(), String.valueOf(v));
                }
            }
            context.executors().validate(new ExecutorSpec(name, type, settings));
            ExecutorConfigFile file = new ExecutorConfigFile(global ? CliContext.userConfigPath() : context.paths().configFile());
            if (file.has(name) && !force) {
                throw new IllegalArgumentException("an executor named '" + name + "' exists in " + file.file() + "; use --force to replace it");
            }
            file.put(name, settings);
            System.err.println("sortie: added executor " + name + " (" + type + ") to " + file.file()
                    + (context.executors().provider(type).worthTesting() ? "; check it with 'sortie executor test " + name + "'" : ""));
            return 0;
        }
    }

    /**
     * Adds the options each executor type contributes to {@code executor add} (a section per type in its help, an
     * option several types take shown once, with them) and to {@code executor test}, and the types' examples to
     * the help of {@code add}. {@code executor} is the command line of this command.
     */
    public static void contribute(CommandLine executor, List<ExecutorProvider> providers) {
        CommandLine add = executor.getSubcommands().get("add");
        CommandSpec addSpec = add.getCommandSpec();
        Map<String, ExecutorOption> seen = new LinkedHashMap<>();
        Map<String, List<String>> typesOf = new LinkedHashMap<>();
        for (ExecutorProvider p : providers) {
            for (ExecutorOption o : p.addOptions()) {
                ExecutorOption first = seen.putIfAbsent(o.name(), o);
                if (first != null && !first.configKey().equals(o.configKey())) {
                    throw new IllegalStateException("executor types disagree on " + o.name() + ": '" + first.configKey()
                            + "' or '" + o.configKey() + "'");
                }
                typesOf.computeIfAbsent(o.name(), k -> new ArrayList<>()).add(p.type());
            }
        }
        Set<String> added = new HashSet<>();
        List<String> examples = new ArrayList<>();
        for (ExecutorProvider p : providers) {
            ArgGroupSpec.Builder group = ArgGroupSpec.builder().heading("%n--type " + p.type() + ":%n").exclusive(false).validate(false);
            for (ExecutorOption o : p.addOptions()) {
                if (added.add(o.name())) {
                    List<String> types = typesOf.get(o.name());
                    group.addArg(optionSpec(o, types.size() > 1 ? String.join(", ", types) + ": " : ""));
                }
            }
            if (!group.args().isEmpty()) {
                addSpec.addArgGroup(group.build());
            }
            p.addExamples().forEach(e -> examples.add("  " + e));
        }
        ((AddExecutor) add.getCommand()).contributed = List.copyOf(seen.values());
        if (!examples.isEmpty()) {
            List<String> footer = new ArrayList<>(List.of("", "Examples:"));
            footer.addAll(examples);
            addSpec.usageMessage().footer(footer.toArray(String[]::new));
        }

        CommandLine test = executor.getSubcommands().get("test");
        Map<String, ExecutorOption> testOptions = new LinkedHashMap<>();
        for (ExecutorProvider p : providers) {
            p.testOptions().forEach(o -> testOptions.putIfAbsent(o.name(), o));
        }
        testOptions.values().forEach(o -> test.getCommandSpec().addOption(optionSpec(o, "")));
        ((TestExecutor) test.getCommand()).contributed = List.copyOf(testOptions.values());
    }

    /** @param types the types that take it, when several do ("ssh, pool: "), else empty */
    private static OptionSpec optionSpec(ExecutorOption o, String types) {
        OptionSpec.Builder b = OptionSpec.builder(o.name()).description(types + o.description());
        switch (o.kind()) {
            case FLAG -> b.type(boolean.class).arity("0");
            case INTEGER -> b.type(Integer.class).paramLabel(o.paramLabel());
            case LIST -> b.type(List.class).auxiliaryTypes(String.class).splitRegex(",").paramLabel(o.paramLabel()).hideParamSyntax(true);
            case TEXT -> b.type(String.class).paramLabel(o.paramLabel());
        }
        return b.build();
    }

    /** The values given for {@code options}, by their config keys, in their order; options not given are left out. */
    private static Map<String, Object> values(CommandSpec spec, List<ExecutorOption> options) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (ExecutorOption o : options) {
            OptionSpec given = spec.findOption(o.name());
            Object v = given == null ? null : given.getValue();
            if (v != null && !(o.kind() == ExecutorOption.Kind.FLAG && Boolean.FALSE.equals(v))) {
                out.put(o.configKey(), v);
            }
        }
        return out;
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
