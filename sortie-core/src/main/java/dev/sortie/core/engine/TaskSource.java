package dev.sortie.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.config.TaskConfig;
import dev.sortie.core.config.TaskConfigLoader;
import dev.sortie.core.config.Units;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The task as an experiment was created with, kept in its record so a retry runs exactly that: the text of
 * sortie.yaml at the time (null when the command came from the command line alone) and the command-line
 * settings that changed it.
 */
public record TaskSource(String yaml, String adHocName, Duration timeout) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public TaskConfig resolve(Path projectDir) {
        TaskConfig task = yaml == null ? TaskConfig.adHoc(adHocName) : TaskConfigLoader.parse(projectDir, yaml);
        return timeout == null ? task : task.withTimeout(timeout);
    }

    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("yaml", yaml);
        n.put("name", adHocName);
        n.put("timeout", timeout == null ? null : timeout.getSeconds() + "s");
        return n.toString();
    }

    public static TaskSource fromJson(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            String t = n.path("timeout").isTextual() ? n.get("timeout").asText() : null;
            return new TaskSource(n.path("yaml").isTextual() ? n.get("yaml").asText() : null,
                    n.path("name").asText("experiment"), t == null ? null : Units.duration(t));
        } catch (Exception e) {
            throw new IllegalStateException("unreadable task record: " + e.getMessage(), e);
        }
    }
}
