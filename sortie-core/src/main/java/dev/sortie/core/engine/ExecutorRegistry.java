package dev.sortie.core.engine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sortie.core.config.ConfigException;
import dev.sortie.core.config.Suggest;
import dev.sortie.core.config.YamlDocument;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.core.executor.LocatorDescription;
import dev.sortie.core.model.ProcessLocation;
import dev.sortie.core.model.RunLocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The executors a project can use, by name: {@code local} always, plus those configured under
 * {@code executors:} in the user's config file and in the project's {@code .sortie/config.yaml} (the project's
 * win). Types come from the {@link ExecutorProvider}s on the class path.
 */
public final class ExecutorRegistry implements AutoCloseable {
    public static final String LOCAL = "local";
    private final Map<String, ExecutorProvider> providers = new LinkedHashMap<>();
    private final Map<String, ExecutorSpec> specs = new LinkedHashMap<>();
    private final Map<String, Executor> built = new HashMap<>();
    private final ExecutorContext context;

    /** The store runs save into and restore from (a stage run's inputs go to a host through it). */
    public dev.sortie.core.store.BlobStore store() {
        return context.store();
    }

    public ExecutorRegistry(ExecutorContext context, List<Path> configFiles) {
        // Providers see every configured executor (a pool resolves the names of its hosts); a live view, filled below.
        this.context = context.withExecutors(Collections.unmodifiableMap(specs));
        for (ExecutorProvider p : available()) {
            providers.put(p.type(), p);
        }
        if (providers.containsKey(LOCAL)) {
            specs.put(LOCAL, new ExecutorSpec(LOCAL, LOCAL, null));
        }
        for (Path file : configFiles) {
            if (Files.isRegularFile(file)) {
                readConfig(file);
            }
        }
    }

    private void readConfig(Path file) {
        YamlDocument doc = YamlDocument.read(file);
        JsonNode root = doc.root();
        if (root.isMissingNode()) {
            return;
        }
        if (!root.isObject()) {
            throw doc.error("", "expected a mapping with 'executors:' (and 'store:')");
        }
        // store: is read by StoreConfig
        // "ledger": read by sortie-ledger's LedgerConfig (a PostgreSQL URL), which this module does not see
        doc.requireKnownFields(root, "", List.of("executors", dev.sortie.core.store.StoreConfig.FIELD, "ledger"));
        JsonNode executors = root.get("executors");
        if (executors == null || executors.isNull()) {
            return;
        }
        if (!executors.isObject()) {
            throw doc.error("executors", "expected a mapping of executor name to its settings, e.g. executors: {gpu1: {type: ssh, host: gpu1}}");
        }
        Iterator<Map.Entry<String, JsonNode>> it = executors.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = "executors." + e.getKey();
            JsonNode type = e.getValue().get("type");
            if (type == null || !type.isTextual()) {
                throw doc.error(path, "needs 'type:' (one of: " + String.join(", ", providers.keySet()) + ")");
            }
            if (!providers.containsKey(type.asText())) {
                throw doc.error(path + ".type", "unknown executor type '" + type.asText() + "' (available: "
                        + String.join(", ", providers.keySet()) + ")");
            }
            specs.put(e.getKey(), new ExecutorSpec(e.getKey(), type.asText(), e.getValue()));
        }
    }

    /** The executor providers the class path holds, in class-path order (the CLI builds its options from them). */
    public static List<ExecutorProvider> available() {
        List<ExecutorProvider> out = new ArrayList<>();
        ServiceLoader.load(ExecutorProvider.class, ExecutorRegistry.class.getClassLoader()).forEach(out::add);
        return out;
    }

    /** The provider of an executor's type, e.g. for its {@code executor test} check. */
    public ExecutorProvider provider(String type) {
        ExecutorProvider p = providers.get(type);
        if (p == null) {
            throw new ConfigException("unknown executor type '" + type + "' (available: " + String.join(", ", providers.keySet()) + ")");
        }
        return p;
    }

    /**
     * What users see of a run's locator (null: none), as the provider of the type that wrote it describes it. The
     * engine's own kinds are read here: a launcher has no command pid; a run recorded by an earlier release shows
     * the pid it recorded.
     */
    public LocatorDescription describe(RunLocator locator) {
        if (locator == null) {
            return null;
        }
        if (locator.launcher()) {
            return new LocatorDescription(locator.host(), 0);
        }
        if (RunLocator.LEGACY.equals(locator.executorType())) {
            ProcessLocation p = ProcessLocation.of(locator, RunLocator.LEGACY);
            return new LocatorDescription(locator.host(), p == null ? 0 : p.pid());
        }
        ExecutorProvider p = providers.get(locator.executorType());
        return p == null ? new LocatorDescription(locator.host(), 0) : p.describe(locator);
    }

    /** The executor types the class path provides. */
    public List<String> types() {
        return new ArrayList<>(providers.keySet());
    }

    /** Checks a new executor's settings the way its type will read them (ConfigException if they are wrong). */
    public void validate(ExecutorSpec spec) {
        ExecutorProvider p = providers.get(spec.type());
        if (p == null) {
            throw new ConfigException("unknown executor type '" + spec.type() + "' (available: " + String.join(", ", providers.keySet()) + ")");
        }
        p.create(spec, context).close();
    }

    public List<String> names() {
        return new ArrayList<>(specs.keySet());
    }

    public boolean has(String name) {
        return specs.containsKey(name);
    }

    public ExecutorSpec spec(String name) {
        ExecutorSpec spec = specs.get(name);
        if (spec == null) {
            String hint = Suggest.nearest(name, specs.keySet()).map(s -> "did you mean '" + s + "'? ").orElse("");
            throw new NotFoundException("unknown executor '" + name + "'; " + hint + "configured executors: " + String.join(", ", specs.keySet()));
        }
        return spec;
    }

    /** Whether runs on the named executor outlive the sortie process that starts them (remote agents). */
    public boolean detachable(String name) {
        return get(name) instanceof dev.sortie.core.executor.DetachableExecutor;
    }

    public synchronized Executor get(String name) {
        Executor e = built.get(name);
        if (e == null) {
            ExecutorSpec spec = spec(name);
            try {
                e = providers.get(spec.type()).create(spec, context);
            } catch (ConfigException ce) {
                throw ce;
            }
            built.put(name, e);
        }
        return e;
    }

    @Override
    public synchronized void close() {
        for (Executor e : built.values()) {
            e.close();
        }
        built.clear();
    }
}
