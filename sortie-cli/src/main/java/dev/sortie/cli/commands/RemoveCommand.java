package dev.sortie.cli.commands;

import dev.sortie.core.model.Experiment;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true,
        description = "Remove experiments from the ledger with their logs and code snapshot refs.")
public final class RemoveCommand extends ContextCommand {
    @Parameters(paramLabel = "EXP", arity = "1..*", description = "Experiment names or ids.")
    List<String> experiments;

    @Option(names = {"-f", "--force"}, description = "Stop running experiments first.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        dev.sortie.cli.access.Experiments where = experiments();
        // every name is looked up before anything is removed: a typo in the list removes nothing
        List<Experiment> found = new ArrayList<>();
        for (String ref : experiments) {
            found.add(where.find(ref));
        }
        for (Experiment e : found) {
            Experiment removed = where.remove(e.id(), force);
            err().println("sortie: removed " + removed.name() + " (" + removed.id() + ")");
        }
        return 0;
    }
}
