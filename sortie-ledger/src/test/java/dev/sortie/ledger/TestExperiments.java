package dev.sortie.ledger;

import dev.sortie.core.model.CodeRef;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import dev.sortie.core.params.Params;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Experiments to store in tests. Times are whole milliseconds, which is what the ledger keeps. */
final class TestExperiments {
    static final Instant T0 = Instant.parse("2025-03-01T12:00:00.123Z");

    private TestExperiments() {
    }

    static Experiment queued(String id, String name) {
        return queued(id, name, T0);
    }

    static Experiment queued(String id, String name, Instant createdAt) {
        return new Experiment(id, name, ExperimentStatus.QUEUED, "local", CommandSpec.shell("python train.py"),
                Params.of(Map.of("lr", 0.01)), null, null, createdAt, null, null, null, null, 1, null);
    }

    /** Every field set, params nested and deliberately not in alphabetical order. */
    static Experiment full(String id, String name) {
        Map<String, Object> optimizer = new LinkedHashMap<>();
        optimizer.put("name", "adam");
        optimizer.put("betas", List.of(0.9, 0.999));
        Map<String, Object> train = new LinkedHashMap<>();
        train.put("lr", 0.003);
        train.put("layers", List.of(64L, 128L, 256L));
        train.put("optimizer", optimizer);
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("zeta", "first");
        params.put("train", train);
        params.put("epochs", 10L);
        params.put("alpha", true);
        params.put("nothing", null);
        params.put("a.b", "a dotted key");
        params.put("big", Long.MAX_VALUE);
        params.put("whole", 1.0);
        params.put("unicode", "żółw \"quoted\" \\ back");
        params.put("empty", Map.of());
        return new Experiment(id, name, ExperimentStatus.FAILED, "gpu-box",
                CommandSpec.shell("python train.py --lr ${train.lr} && echo 'done'"),
                Params.of(params),
                new CodeRef(null, "0123456789abcdef0123456789abcdef01234567", "refs/sortie/" + id, true),
                "{\"name\":\"mnist\",\"run\":\"python train.py\"}",
                T0, T0.plusSeconds(5), T0.plusSeconds(65), 137, "killed\nby signal 9", 3,
                new RunLocator("local", "node-7.example", new ProcessLocation(4242L, T0.plusMillis(4001), 4243L, T0.plusMillis(4002)).value()));
    }

    /** Points {@code 0..steps-1} of one key, value = step * factor. */
    static List<MetricPoint> points(String key, int steps, double factor) {
        List<MetricPoint> out = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            out.add(new MetricPoint(key, s, s * factor, T0.plusSeconds(s)));
        }
        return out;
    }
}
