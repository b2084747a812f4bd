package dev.sortie.cli.commands;

import dev.sortie.cli.output.Cells;
import dev.sortie.cli.output.Table;
import dev.sortie.core.model.ExperimentView;
import dev.sortie.core.model.Experiment;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Compare two experiments: params, metrics, status, duration and code. Only differences unless --all.",
                "Then the code: the diff from the first experiment's snapshot to the second's, as 'git diff' prints it."})
public final class DiffCommand extends ContextCommand {
    private static final System.Logger LOG = System.getLogger(DiffCommand.class.getName());

    @Parameters(index = "0", paramLabel = "EXP_A")
    String a;

    @Parameters(index = "1", paramLabel = "EXP_B")
    String b;

    @Option(names = "--all", description = "Show rows that are equal too.")
    boolean all;

    @Option(names = "--no-code", description = "Leave out the code diff (params, metrics and the run only).")
    boolean noCode;

    @ArgGroup(exclusive = true)
    OutputFormat format;

    @Override
    public Integer call() {
        ExperimentView vx = experiments().view(a);
        ExperimentView vy = experiments().view(b);
        Experiment x = vx.experiment();
        Experiment y = vy.experiment();
        Instant now = Instant.now();
        Table t = new Table(List.of("kind", "field", x.name(), y.name()));
        row(t, "run", "status", x.status().label(), y.status().label());
        row(t, "run", "executor", x.executor(), y.executor());
        row(t, "run", "duration", x.duration(now), y.duration(now));
        row(t, "run", "exit_code", x.exitCode(), y.exitCode());
        row(t, "run", "command", x.command().display(), y.command().display());
        row(t, "code", "base commit", x.code() == null ? null : x.code().baseCommit(), y.code() == null ? null : y.code().baseCommit());
        row(t, "code", "snapshot", x.code() == null ? null : x.code().snapshotCommit(), y.code() == null ? null : y.code().snapshotCommit());
        Map<String, Object> px = x.params().flatten();
        Map<String, Object> py = y.params().flatten();
        Set<String> keys = new LinkedHashSet<>(px.keySet());
        keys.addAll(py.keySet());
        for (String k : keys) {
            row(t, "param", k, px.get(k), py.get(k));
        }
        Map<String, Double> mx = vx.metrics();
        Map<String, Double> my = vy.metrics();
        Set<String> metrics = new TreeSet<>(mx.keySet());
        metrics.addAll(my.keySet());
        for (String k : metrics) {
            row(t, "metric", k, mx.get(k), my.get(k));
        }
        if (t.size() == 0) {
            err().println("sortie: " + x.name() + " and " + y.name() + " do not differ (--all shows every row)");
            return 0;
        }
        t.print(OutputFormat.of(format), out());
        if (OutputFormat.of(format) == Table.Format.TEXT && !noCode && x.code() != null && y.code() != null
                && x.code().snapshotCommit() != null && y.code().snapshotCommit() != null
                && !Objects.equals(x.code().snapshotCommit(), y.code().snapshotCommit())) {
            printCode(x, y);
        }
        return 0;
    }

    /**
     * The code diff of the two snapshots, after the table. Experiments of a server whose snapshots never reached this
     * repository get the commits to diff where they are instead.
     */
    private void printCode(Experiment x, Experiment y) {
        String from = x.code().snapshotCommit();
        String to = y.code().snapshotCommit();
        java.io.ByteArrayOutputStream diff = new java.io.ByteArrayOutputStream();
        try {
            if (experiments() instanceof dev.sortie.cli.access.RemoteExperiments remote) {
                // the server's experiments' snapshots are in the server's repository: it makes the diff
                diff.writeBytes(remote.codeDiff(x, y).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } else {
                context().snapshots().diff(from, to, diff);
            }
        } catch (java.io.IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no code diff of {0} and {1}: {2}", from, to, e);
            err().println("sortie: the code snapshots of " + x.name() + " and " + y.name() + " are not in "
                    + (experiments() instanceof dev.sortie.cli.access.RemoteExperiments ? "the server's repository" : "this repository")
                    + " (" + e.getMessage() + "); where they are: git diff " + abbrev(from) + " " + abbrev(to));
            return;
        }
        if (diff.size() == 0) {
            err().println("sortie: the code of " + x.name() + " and " + y.name() + " is the same");
            return;
        }
        out().println();
        out().println("code: " + x.name() + " (" + abbrev(from) + ") -> " + y.name() + " (" + abbrev(to) + ")");
        out().print(diff.toString(java.nio.charset.StandardCharsets.UTF_8));
        out().flush();
    }

    private void row(Table t, String kind, String field, Object x, Object y) {
        if (all || !Objects.equals(Cells.raw(x), Cells.raw(y))) {
            List<Object> r = new ArrayList<>();
            r.add(kind);
            r.add(field);
            r.add(x);
            r.add(y);
            t.add(r);
        }
    }

    private static String abbrev(String commit) {
        return commit == null ? "" : commit.substring(0, Math.min(12, commit.length()));
    }
}
