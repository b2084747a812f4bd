package dev.sortie.core.executor;

import com.fasterxml.jackson.databind.JsonNode;

/** A configured executor: its name, its type (which {@link ExecutorProvider} builds it) and its type's options. */
public record ExecutorSpec(String name, String type, JsonNode options) {
}
