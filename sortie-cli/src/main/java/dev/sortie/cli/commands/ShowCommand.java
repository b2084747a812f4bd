package dev.sortie.cli.commands;

import dev.sortie.cli.output.ExperimentTable;
import dev.sortie.cli.output.RowFilter;
import dev.sortie.cli.output.Table;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "show", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Print the experiments table: name, status, executor, created, duration, each param and each metric"
                + " (and the DVC stage when any experiment ran one with --stage).",
        footer = {"", "Examples:",
                "  sortie show --sort-by loss --filter 'loss<0.3' --filter status=succeeded",
                "  sortie show --columns name,lr,loss --md",
                "Filter operators: = != < <= > >= and ~ (contains). Columns: built-ins (id, name, status, executor, stage,",
                "created, started, ended, duration, exit_code, attempt, commit, command, error), params, metrics."})
public final class ShowCommand extends ContextCommand {
    @Option(names = "--sort-by", paramLabel = "COLUMN", description = "Sort by a column (a metric, a param or a built-in).")
    String sortBy;

    @Option(names = "--sort-order", paramLabel = "asc|desc", description = "Sort order (default: asc).")
    String sortOrder = "asc";

    @Option(names = "--filter", paramLabel = "EXPR", description = "Keep rows where EXPR holds, e.g. 'loss<0.3' or status=failed. Repeat to AND.")
    List<String> filters = new ArrayList<>();

    @Option(names = "--columns", split = ",", paramLabel = "COLUMN", description = "Columns to show, comma-separated.")
    List<String> columns;

    @Option(names = "--limit", paramLabel = "N", description = "Show only the first N rows (after filters and sorting).")
    Integer limit;

    @Option(names = "--attempts", description = "Under the table, each experiment's ended attempts: where each ran and how it ended"
            + " (an attempt a spot interruption or a lost instance ended, continued by the next, stays listed).")
    boolean attempts;

    @ArgGroup(exclusive = true)
    OutputFormat format;

    @Override
    public Integer call() {
        if (limit != null && limit < 0) {
            throw new IllegalArgumentException("--limit " + limit + ": expected 0 or more rows");
        }
        List<RowFilter> parsed = new ArrayList<>();
        for (String f : filters) {
            parsed.add(RowFilter.parse(f));
        }
        if (sortBy != null && !sortOrder.equalsIgnoreCase("asc") && !sortOrder.equalsIgnoreCase("desc")) {
            throw new IllegalArgumentException("--sort-order '" + sortOrder + "': expected asc or desc");
        }
        boolean descending = sortOrder.equalsIgnoreCase("desc");
        dev.sortie.cli.access.Experiments experiments = experiments();
        ExperimentTable table;
        if (experiments instanceof dev.sortie.cli.access.RemoteExperiments remote && serverSortsAlike(parsed)) {
            // the server's database filters, sorts and cuts; the names it sends check the fields as a local table would
            var page = remote.showPage(filters, sortBy, descending, limit, columns);
            table = new ExperimentTable(page.rows(), page.columns(), Instant.now());
            table.checkFilters(parsed);
            if (sortBy != null) {
                table.checkField(sortBy, "--sort-by");
            }
        } else {
            table = new ExperimentTable(experiments.views(), Instant.now());
            table.filter(parsed);
            if (sortBy != null) {
                table.sort(sortBy, descending);
            }
            if (limit != null) {
                table.limit(limit);
            }
        }
        Table rendered = table.render(columns);
        Table.Format f = OutputFormat.of(format);
        if (rendered.size() == 0 && f == Table.Format.TEXT) {
            err().println(filters.isEmpty() ? "no experiments yet: run one with 'sortie run'" : "no experiment matches the filters");
            return 0;
        }
        rendered.print(f, out());
        if (attempts) {
            printAttempts(experiments, table.experiments());
        }
        return 0;
    }

    /**
     * Whether the server's database orders and filters these fields as show does here. Not: {@code stage} (a DVC stage is
     * no column of the database), {@code commit} (show compares the short commit it prints), and a time compared with
     * text (show compares the printed time, the database the epoch milliseconds); those come as the whole table, sorted
     * and filtered here.
     */
    private boolean serverSortsAlike(List<RowFilter> parsed) {
        if (sortBy != null && (sortBy.equals("stage") || sortBy.equals("commit"))) {
            return false;
        }
        for (RowFilter f : parsed) {
            if (f.field().equals("stage") || f.field().equals("commit")) {
                return false;
            }
            if (List.of("created", "started", "ended").contains(f.field()) && f.needsNumber()) {
                return false;
            }
        }
        return true;
    }

    private void printAttempts(dev.sortie.cli.access.Experiments experiments, List<dev.sortie.core.model.Experiment> shown) {
        for (dev.sortie.core.model.Experiment e : shown) {
            List<dev.sortie.core.model.AttemptRecord> ended = experiments.attempts(e.id());
            if (ended.isEmpty()) {
                continue;
            }
            out().println();
            out().println(e.name() + " (" + e.id() + "): attempt " + e.attempt() + " " + e.status().label());
            for (dev.sortie.core.model.AttemptRecord a : ended) {
                String took = a.startedAt() == null || a.endedAt() == null ? ""
                        : "  " + dev.sortie.core.config.Units.human(java.time.Duration.between(a.startedAt(), a.endedAt()));
                out().println("  attempt " + a.attempt() + "  " + a.status().label() + (a.host() == null ? "" : "  on " + a.host()) + took
                        + (a.error() == null || a.status() == dev.sortie.core.model.ExperimentStatus.SUCCEEDED ? "" : "  " + a.error()));
            }
        }
    }
}
