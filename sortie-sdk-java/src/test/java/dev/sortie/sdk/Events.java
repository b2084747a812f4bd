package dev.sortie.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Reads an events file back, failing on anything that is not whole JSON-object lines. */
final class Events {
    private Events() {
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        if (!text.isEmpty()) {
            assertThat(text).as("the events file ends with a complete line").endsWith("\n");
        }
        List<Map<String, Object>> events = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            Object v = Json.parse(line);
            assertThat(v).as("line %s", line).isInstanceOf(Map.class);
            Map<String, Object> e = (Map<String, Object>) v;
            assertThat(e).as("line %s", line).containsKey("e");
            events.add(e);
        }
        return events;
    }

    /** Complete lines so far, for polling while a flush may be half-way through its write. */
    static long completeLines(Path file) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        byte[] data = Files.readAllBytes(file);
        long n = 0;
        for (byte b : data) {
            if (b == '\n') {
                n++;
            }
        }
        return n;
    }

    static List<Map<String, Object>> ofKind(List<Map<String, Object>> events, String kind) {
        return events.stream().filter(e -> kind.equals(e.get("e"))).collect(Collectors.toList());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> values(Map<String, Object> event) {
        return (Map<String, Object>) event.get("v");
    }

    /** Every value of metric {@code name}, in file order. */
    static List<Object> metric(List<Map<String, Object>> events, String name) {
        List<Object> out = new ArrayList<>();
        for (Map<String, Object> e : ofKind(events, "m")) {
            Map<String, Object> v = values(e);
            if (v.containsKey(name)) {
                out.add(v.get(name));
            }
        }
        return out;
    }
}
