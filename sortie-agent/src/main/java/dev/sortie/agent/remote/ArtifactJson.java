package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.sortie.core.model.ArtifactKind;
import dev.sortie.core.model.ArtifactRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Artifact records as the journal and the run file write them. */
final class ArtifactJson {
    private ArtifactJson() {
    }

    static void write(ArrayNode into, List<ArtifactRecord> records) {
        for (ArtifactRecord r : records) {
            into.addObject().put("kind", r.kind().name().toLowerCase(Locale.ROOT)).put("path", r.path())
                    .put("hash", r.hash()).put("size", r.size()).put("at", r.savedAt().toEpochMilli());
        }
    }

    static List<ArtifactRecord> read(JsonNode array) {
        List<ArtifactRecord> out = new ArrayList<>();
        for (JsonNode f : array) {
            out.add(new ArtifactRecord(ArtifactKind.valueOf(f.path("kind").asText().toUpperCase(Locale.ROOT)),
                    f.path("path").asText(), f.path("hash").asText(), f.path("size").asLong(),
                    Instant.ofEpochMilli(f.path("at").asLong())));
        }
        return out;
    }
}
