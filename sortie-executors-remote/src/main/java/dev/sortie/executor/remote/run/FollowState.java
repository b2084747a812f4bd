package dev.sortie.executor.remote.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

/**
 * How far this machine has collected one remote attempt, kept in {@code <run dir>/remote-<attempt>.json} so any
 * later process goes on from there: the journal offset applied (the log's offset is the local log's size, since
 * it is mirrored byte for byte), and since when the host has not answered (for declaring it lost).
 */
final class FollowState {
    private static final System.Logger LOG = System.getLogger(FollowState.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    long journalOffset;
    Instant unreachableSince;

    private FollowState(Path file) {
        this.file = file;
    }

    static FollowState load(Path runDir, int attempt) {
        FollowState s = new FollowState(runDir.resolve("remote-" + attempt + ".json"));
        try {
            JsonNode n = JSON.readTree(Files.readAllBytes(s.file));
            s.journalOffset = n.path("journal_offset").asLong(0);
            s.unreachableSince = n.hasNonNull("unreachable_since") ? Instant.ofEpochMilli(n.get("unreachable_since").asLong()) : null;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no follow state in {0} ({1}); the journal is read from its start", s.file, e);
            // none yet (or torn by a crash): start from the beginning; re-applying the journal is harmless
        }
        return s;
    }

    void save() throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("journal_offset", journalOffset);
        if (unreachableSince != null) {
            n.put("unreachable_since", unreachableSince.toEpochMilli());
        }
        if (!Files.isDirectory(file.getParent())) {
            // The run's folder was removed (rm -rf .sortie during the run): it is not made again for this file.
            LOG.log(System.Logger.Level.DEBUG, "{0} is gone; the follow state is not saved", file.getParent());
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, JSON.writeValueAsBytes(n));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
