package dev.sortie.server;

import dev.sortie.core.engine.ExecutorRegistry;
import dev.sortie.core.engine.ExperimentService;
import dev.sortie.core.engine.ProjectPaths;
import dev.sortie.core.ledger.Ledger;
import dev.sortie.core.store.BlobStore;

/**
 * What the server works with, opened by its caller ({@code sortie server}): the engine (the same
 * {@link ExperimentService} the CLI's local mode calls), its ledger, store and executors, the server's folder
 * (run logs live under it) and the tokens.
 */
public record ServerContext(ProjectPaths paths, ExperimentService service, BlobStore store, Tokens tokens) {
    public Ledger ledger() {
        return service.ledger();
    }

    public ExecutorRegistry executors() {
        return service.executors();
    }
}
