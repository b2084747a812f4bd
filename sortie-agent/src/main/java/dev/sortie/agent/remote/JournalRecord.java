package dev.sortie.agent.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sortie.core.executor.RunOutcome;
import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One line of an attempt's journal on a host ({@code runs/<id>/journal-<attempt>.jsonl}): what the agent's run
 * reported, in order, as one JSON object per line. The journal is the run's report home: whoever follows it
 * (the {@code sortie} that launched the run, or any later one) applies it to the ledger, from any offset, as
 * often as it likes. Output lines are not in it: they are in the run's log file, mirrored byte for byte.
 */
public sealed interface JournalRecord {
    ObjectMapper JSON = new ObjectMapper();

    /** The agent is up: its pid, so a follower can tell whether it still is. */
    record Agent(long pid, Instant start) implements JournalRecord {
    }

    /** A command of the attempt started: the agent's pid and the command's (the leader of its process group). */
    record Started(long agentPid, Instant agentStart, long pid, Instant processStart) implements JournalRecord {
    }

    /** The last command exited; outputs are being saved. */
    record Exited() implements JournalRecord {
    }

    record Metrics(List<MetricPoint> points) implements JournalRecord {
    }

    /** Checkpoints or artifacts, saved into the host's store. */
    record Saved(List<ArtifactRecord> files) implements JournalRecord {
    }

    /**
     * The attempt is over and everything it produced is saved; the log file has {@code logSize} bytes.
     * {@code infrastructure}: the agent could not do its part (what the run reported could not be recorded, a full
     * disk), so the outcome is the machine's failure, not the experiment's (exit code 3).
     */
    record End(RunOutcome outcome, long logSize, boolean infrastructure) implements JournalRecord {
        public End(RunOutcome outcome, long logSize) {
            this(outcome, logSize, false);
        }
    }

    /** The record as one JSON line (without the newline). */
    default String toLine() {
        ObjectNode n = JSON.createObjectNode();
        if (this instanceof Agent a) {
            n.put("t", "agent").put("pid", a.pid()).put("start", millis(a.start()));
        } else if (this instanceof Started s) {
            n.put("t", "started").put("agent_pid", s.agentPid()).put("agent_start", millis(s.agentStart()))
                    .put("pid", s.pid()).put("pid_start", millis(s.processStart()));
        } else if (this instanceof Exited) {
            n.put("t", "exited");
        } else if (this instanceof Metrics m) {
            n.put("t", "metrics");
            ArrayNode points = n.putArray("p");
            for (MetricPoint p : m.points()) {
                points.addArray().add(p.key()).add(p.step()).add(p.value()).add(p.time().toEpochMilli());
            }
        } else if (this instanceof Saved s) {
            n.put("t", "saved");
            ArtifactJson.write(n.putArray("files"), s.files());
        } else if (this instanceof End e) {
            n.put("t", "end").put("status", e.outcome().status().name().toLowerCase(Locale.ROOT));
            if (e.outcome().exitCode() != null) {
                n.put("exit", e.outcome().exitCode());
            }
            n.put("error", e.outcome().error()).put("log_size", e.logSize());
            if (e.infrastructure()) {
                n.put("infrastructure", true);
            }
        }
        return n.toString();
    }

    /** Parses a line; null for a line that is not a record this version knows (a newer agent's, or a torn one). */
    static JournalRecord parse(String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (Exception e) {
            System.getLogger(JournalRecord.class.getName()).log(System.Logger.Level.DEBUG, "a journal line that is not JSON (torn?) was skipped: {0}", e);
            return null;
        }
        if (n == null || !n.isObject()) {
            return null;
        }
        switch (n.path("t").asText()) {
            case "agent":
                return new Agent(n.path("pid").asLong(), instant(n.get("start")));
            case "started":
                return new Started(n.path("agent_pid").asLong(), instant(n.get("agent_start")), n.path("pid").asLong(),
                        instant(n.get("pid_start")));
            case "exited":
                return new Exited();
            case "metrics": {
                List<MetricPoint> points = new ArrayList<>();
                for (JsonNode p : n.path("p")) {
                    points.add(new MetricPoint(p.path(0).asText(), p.path(1).asLong(), p.path(2).asDouble(),
                            Instant.ofEpochMilli(p.path(3).asLong())));
                }
                return new Metrics(points);
            }
            case "saved":
                return new Saved(ArtifactJson.read(n.path("files")));
            case "end": {
                ExperimentStatus status = ExperimentStatus.valueOf(n.path("status").asText("failed").toUpperCase(Locale.ROOT));
                Integer exit = n.hasNonNull("exit") ? n.get("exit").asInt() : null;
                String error = n.hasNonNull("error") ? n.get("error").asText() : null;
                return new End(new RunOutcome(status, exit, error), n.path("log_size").asLong(), n.path("infrastructure").asBoolean(false));
            }
            default:
                return null;
        }
    }

    private static Long millis(Instant i) {
        return i == null ? null : i.toEpochMilli();
    }

    private static Instant instant(JsonNode n) {
        return n == null || !n.isNumber() ? null : Instant.ofEpochMilli(n.asLong());
    }
}
