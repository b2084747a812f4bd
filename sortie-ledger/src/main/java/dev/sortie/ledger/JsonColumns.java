package dev.sortie.ledger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import dev.sortie.core.model.CommandSpec;
import dev.sortie.core.params.Params;
import java.io.IOException;
import java.io.StringWriter;
import java.sql.SQLDataException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON text of the {@code params}, {@code command} and {@code latest_metrics} columns.
 *
 * <p>Params keep their order and their types: integers come back as longs, floats as doubles (written so they
 * read back exactly), NaN and the infinities as numbers rather than strings. Reading is streamed token by token
 * instead of data-bound: the experiments table parses these for every experiment, often in a JVM that has just
 * started, where the data-binding layer's indirection is what costs. One instance is shared by the tables of a
 * ledger; it holds no state but its (thread-safe) factory. Malformed text is reported as
 * {@link SQLDataException}, so callers see it like any other failure to read a row.
 */
final class JsonColumns {
    // Streaming only (jackson-core): the data-binding layer would cost a short-lived CLI ~100 ms of class loading.
    private final JsonFactory factory = JsonFactory.builder()
            .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .build();

    String params(Params params) throws SQLDataException {
        return write("params", g -> writeValue(g, params.asMap()));
    }

    Params params(String json) throws SQLDataException {
        return read("params", json, p -> {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new BadJson("not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) readValue(p, JsonToken.START_OBJECT);
            return Params.of(map);
        });
    }

    /** {@code {"shell": "..."}} or {@code {"argv": [...]}}. */
    String command(CommandSpec command) throws SQLDataException {
        return write("command", g -> {
            g.writeStartObject();
            if (command.isShell()) {
                g.writeStringField("shell", command.shell());
            } else {
                g.writeArrayFieldStart("argv");
                for (String arg : command.argv()) {
                    g.writeString(arg);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        });
    }

    CommandSpec command(String json) throws SQLDataException {
        Object value = read("command", json, p -> readValue(p, p.nextToken()));
        if (value instanceof Map<?, ?> m && m.size() == 1) {
            if (m.get("shell") instanceof String shell) {
                return CommandSpec.shell(shell);
            }
            if (m.get("argv") instanceof List<?> argv && !argv.isEmpty() && argv.stream().allMatch(String.class::isInstance)) {
                return CommandSpec.argv(argv.stream().map(String.class::cast).toList());
            }
        }
        throw new SQLDataException("stored command is neither {\"shell\": ...} nor {\"argv\": [...]}: " + json);
    }

    /** {@code {"key": value, ...}} in the map's order. */
    String metrics(Map<String, Double> latest) throws SQLDataException {
        return write("metrics", g -> {
            g.writeStartObject();
            for (Map.Entry<String, Double> e : latest.entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
        });
    }

    /** Reads what {@link #metrics(Map)} wrote, keeping its order; null reads as no metrics. */
    Map<String, Double> metrics(String json) throws SQLDataException {
        if (json == null) {
            return Map.of();
        }
        return read("latest metrics", json, p -> {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new BadJson("not a JSON object");
            }
            Map<String, Double> out = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken value = p.nextToken();
                if (value != JsonToken.VALUE_NUMBER_FLOAT && value != JsonToken.VALUE_NUMBER_INT) {
                    throw new BadJson("'" + key + "' is not a number");
                }
                out.put(key, p.getDoubleValue());
            }
            return Collections.unmodifiableMap(out);
        });
    }

    private static Object readValue(JsonParser p, JsonToken token) throws IOException {
        if (token == null) {
            throw new BadJson("unexpected end of JSON");
        }
        switch (token) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    map.put(key, readValue(p, p.nextToken()));
                }
                return map;
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    list.add(readValue(p, t));
                }
                return list;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                return p.getNumberType() == JsonParser.NumberType.BIG_INTEGER ? p.getBigIntegerValue() : p.getLongValue();
            case VALUE_NUMBER_FLOAT:
                return p.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            default:
                throw new BadJson("unexpected JSON token " + token);
        }
    }

    private static void writeValue(JsonGenerator g, Object value) throws IOException {
        if (value instanceof Map<?, ?> map) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                g.writeFieldName(String.valueOf(e.getKey()));
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        } else if (value instanceof List<?> list) {
            g.writeStartArray();
            for (Object o : list) {
                writeValue(g, o);
            }
            g.writeEndArray();
        } else if (value == null) {
            g.writeNull();
        } else if (value instanceof String s) {
            g.writeString(s);
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (value instanceof Long l) {
            g.writeNumber(l);
        } else if (value instanceof Double d) {
            g.writeNumber(d);
        } else if (value instanceof Number n) {
            g.writeNumber(n.toString());
        } else {
            // YAML may hand over other scalars (dates): keep them as the text the user wrote
            g.writeString(value.toString());
        }
    }

    /** Valid JSON, but not the shape a column holds. */
    private static final class BadJson extends IOException {
        BadJson(String message) {
            super(message);
        }
    }

    @FunctionalInterface
    private interface Writing {
        void write(JsonGenerator g) throws IOException;
    }

    @FunctionalInterface
    private interface Reading<T> {
        T read(JsonParser p) throws IOException;
    }

    private String write(String what, Writing writing) throws SQLDataException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = factory.createGenerator(out)) {
            writing.write(g);
        } catch (IOException e) {
            throw new SQLDataException(what + " cannot be written as JSON: " + e.getMessage(), e);
        }
        return out.toString();
    }

    private <T> T read(String what, String json, Reading<T> reading) throws SQLDataException {
        if (json == null) {
            throw new SQLDataException("stored " + what + " are missing");
        }
        try (JsonParser p = factory.createParser(json)) {
            return reading.read(p);
        } catch (BadJson e) {
            throw new SQLDataException("stored " + what + " cannot be read: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new SQLDataException("stored " + what + " are not valid JSON: " + e.getMessage(), e);
        }
    }
}
