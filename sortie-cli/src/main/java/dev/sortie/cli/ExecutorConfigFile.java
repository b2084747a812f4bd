package dev.sortie.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.sortie.core.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Adds and removes entries under {@code executors:} of a config file (the project's .sortie/config.yaml or the
 * user's). The file is rewritten from its parsed form, so comments in it are not kept.
 */
public final class ExecutorConfigFile {
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build();
    private final Path file;

    public ExecutorConfigFile(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    public boolean has(String name) throws IOException {
        return executors(read()).has(name);
    }

    public void put(String name, ObjectNode settings) throws IOException {
        ObjectNode root = read();
        executors(root).set(name, settings);
        write(root);
    }

    /** Returns false if there was no such executor in this file. */
    public boolean remove(String name) throws IOException {
        ObjectNode root = read();
        if (executors(root).remove(name) == null) {
            return false;
        }
        write(root);
        return true;
    }

    private ObjectNode read() throws IOException {
        if (!Files.exists(file)) {
            return YAML.createObjectNode();
        }
        JsonNode n = YAML.readTree(Files.readString(file, StandardCharsets.UTF_8));
        if (n == null || n.isMissingNode() || n.isNull()) {
            return YAML.createObjectNode();
        }
        if (!n.isObject()) {
            throw new ConfigException(file, 1, null, "expected a mapping with 'executors:'");
        }
        return (ObjectNode) n;
    }

    private ObjectNode executors(ObjectNode root) {
        JsonNode e = root.get("executors");
        if (e == null || e.isNull()) {
            return root.putObject("executors");
        }
        if (!e.isObject()) {
            throw new ConfigException(file, 0, "executors", "expected a mapping of executor name to its settings");
        }
        return (ObjectNode) e;
    }

    private void write(ObjectNode root) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, YAML.writeValueAsString(root), StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
