package dev.sortie.cli.commands;

import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.PreparedRun;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.time.Instant;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Launches the replacement of a run whose machine went away, for the sortie that claimed the recovery and does not
 * wait for it ({@code status}: see {@link OrphanedRecoveries#handOff}). Takes the attempt over from that process,
 * launches it detached, and says how it went in .sortie/logs/recover.log. Not for users.
 */
@Command(name = "recover", hidden = true, mixinStandardHelpOptions = true,
        description = "Launch a claimed recovery's replacement (started by 'sortie status').")
public final class RecoverCommand extends ContextCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Option(names = "--attempt", required = true)
    int attempt;

    @Option(names = "--from", required = true, description = "The pid of the sortie that claimed it.")
    long from;

    @Override
    public Integer call() throws Exception {
        ExperimentService service = context().service();
        Optional<PreparedRun> mine = service.takeOverLaunch(id, attempt, from);
        if (mine.isEmpty()) {
            out().println(Instant.now() + " sortie: " + id + " attempt " + attempt + ": not taken over (it changed since it was claimed)");
            return 0;
        }
        Experiment next = mine.get().experiment();
        out().println(Instant.now() + " sortie: " + next.name() + ": launching attempt " + next.attempt() + " on a replacement");
        Experiment done = new dev.sortie.core.engine.OrphanedRecoveries(service, Foreground.GRACE).launch(mine.get(),
                line -> out().println(Instant.now() + " " + line));
        if (done == null) {
            return 3;
        }
        out().println(Instant.now() + " sortie: " + next.name() + ": attempt " + done.attempt() + " "
                + (done.status() == ExperimentStatus.RUNNING ? "runs on its replacement" : done.status().label()));
        return 0;
    }
}
