package dev.sortie.cli.commands;

import dev.sortie.cli.output.Table;
import picocli.CommandLine.Option;

/** The {@code --json | --csv | --md} choice of commands that print tables. */
final class OutputFormat {
    @Option(names = "--json", description = "Print JSON for programs.")
    boolean json;

    @Option(names = "--csv", description = "Print CSV.")
    boolean csv;

    @Option(names = "--md", description = "Print a Markdown table.")
    boolean md;

    Table.Format format() {
        if (json) {
            return Table.Format.JSON;
        }
        if (csv) {
            return Table.Format.CSV;
        }
        return md ? Table.Format.MARKDOWN : Table.Format.TEXT;
    }

    static Table.Format of(OutputFormat f) {
        return f == null ? Table.Format.TEXT : f.format();
    }
}
