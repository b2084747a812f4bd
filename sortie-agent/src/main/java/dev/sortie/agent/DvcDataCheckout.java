package dev.sortie.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Puts a work copy's DVC-tracked files (the outs of its {@code .dvc} files and of {@code dvc.lock}) in place from the
 * user's DVC cache, as {@code dvc checkout} with DVC's default {@code cache.type} (reflink, else copy) does on a
 * file system without reflinks, without starting DVC: one DVC start-up less per run (~0.5 s of CPU, seconds of wall
 * time on a busy machine), and the data is there even where {@code dvc} is not on the run's PATH.
 * <p>
 * It does the work only where the result is the one {@code dvc checkout} would give: DVC 3's md5 cache layout, every
 * object in the cache, nothing in the way, a copy-like {@code cache.type}, and little data (a large copy where DVC
 * would reflink costs disk that DVC would not use). Anything else is left to {@code dvc checkout}, whole.
 */
final class DvcDataCheckout {
    private static final System.Logger LOG = System.getLogger(DvcDataCheckout.class.getName());
    private static final ObjectMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MD5 = Pattern.compile("[0-9a-f]{32}");
    /** Above this much data, copying is left to DVC, which may reflink it (free) where the file system can. */
    static final long MAX_BYTES = 64L << 20;
    private static final Set<String> SKIPPED_DIRS = Set.of(".git", ".dvc", ".sortie");

    private DvcDataCheckout() {
    }

    /** One file to put in place: where it goes, the cache object it comes from, whether it is executable. */
    private record Link(Path target, Path object, boolean exec) {
    }

    /** A reason to leave the checkout to DVC. */
    private static final class NotOurs extends Exception {
        NotOurs(String why) {
            super(why, null, false, false);
        }
    }

    /**
     * Checks out the DVC-tracked files of the work copy {@code root}, whose {@code .dvc/config.local} (written by
     * Sortie) names the cache. True when it did (or there was nothing to check out); false, having written nothing,
     * when {@code dvc checkout} must do it.
     */
    static boolean checkout(Path root) {
        List<Path> written = new ArrayList<>();
        try {
            List<Link> links = plan(root);
            for (Link l : links) {
                Files.createDirectories(l.target().getParent());
                Files.copy(l.object(), l.target());
                written.add(l.target());
                if (l.exec()) {
                    l.target().toFile().setExecutable(true, true); // u+x, as DVC sets it
                }
            }
            return true;
        } catch (NotOurs e) {
            LOG.log(System.Logger.Level.DEBUG, "DVC-tracked data of {0} left to dvc checkout: {1}", root, e.getMessage());
            return false;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "DVC-tracked data of " + root + " could not be copied from the cache; dvc checkout does it", e);
            // what was copied goes, so dvc checkout finds nothing in its way (it would not overwrite a file it does not know)
            for (Path p : written) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    LOG.log(System.Logger.Level.DEBUG, "could not remove {0}", p);
                }
            }
            return false;
        }
    }

    private static List<Link> plan(Path root) throws IOException, NotOurs {
        Path config = root.resolve(WorkSetup.DVC_LOCAL_CONFIG);
        String cacheDir = null;
        String type = null;
        boolean inCache = false;
        for (String line : Files.readAllLines(config, StandardCharsets.UTF_8)) {
            String t = line.strip();
            if (t.startsWith("[")) {
                inCache = t.equals("[cache]");
            } else if (inCache && t.contains("=")) {
                String k = t.substring(0, t.indexOf('=')).strip();
                String v = t.substring(t.indexOf('=') + 1).strip();
                if (k.equals("dir")) {
                    cacheDir = v;
                } else if (k.equals("type")) {
                    type = v;
                }
            }
        }
        if (cacheDir == null || !Path.of(cacheDir).isAbsolute()) {
            throw new NotOurs("no absolute cache dir in " + config);
        }
        if (type != null && !type.replace(" ", "").matches("(reflink,)?copy")) {
            throw new NotOurs("cache.type " + type); // links DVC makes (and protects) itself
        }
        Path md5Dir = Path.of(cacheDir).resolve("files").resolve("md5");
        List<Path> sources = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return !dir.equals(root) && SKIPPED_DIRS.contains(dir.getFileName().toString())
                        ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                String n = file.getFileName().toString();
                if (attrs.isRegularFile() && (n.endsWith(".dvc") || n.equals("dvc.lock"))) {
                    sources.add(file);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        List<Link> links = new ArrayList<>();
        long[] bytes = {0};
        for (Path source : sources) {
            JsonNode doc = YAML.readTree(source.toFile());
            if (doc == null || !doc.isObject()) {
                throw new NotOurs(source + " is not a mapping");
            }
            if (source.getFileName().toString().equals("dvc.lock")) {
                for (JsonNode stage : iterable(doc.path("stages"))) {
                    // a stage's paths are relative to its wdir, which dvc.lock does not record: the usual one only
                    for (JsonNode out : stage.path("outs")) {
                        add(root, source.getParent(), out, md5Dir, links, bytes);
                    }
                }
            } else {
                if (doc.has("wdir")) {
                    throw new NotOurs(source + " has a wdir");
                }
                for (JsonNode out : doc.path("outs")) {
                    add(root, source.getParent(), out, md5Dir, links, bytes);
                }
            }
        }
        if (bytes[0] > MAX_BYTES) {
            throw new NotOurs(bytes[0] + " bytes of data");
        }
        return links;
    }

    private static Iterable<JsonNode> iterable(JsonNode stages) {
        List<JsonNode> out = new ArrayList<>();
        stages.fields().forEachRemaining((Map.Entry<String, JsonNode> e) -> out.add(e.getValue()));
        return out;
    }

    private static void add(Path root, Path base, JsonNode out, Path md5Dir, List<Link> links, long[] bytes) throws IOException, NotOurs {
        String path = out.path("path").asText("");
        String md5 = out.path("md5").asText("");
        if (path.isEmpty() || !out.path("hash").asText("").equals("md5") || out.has("files") || out.has("cloud")
                || !out.path("cache").asBoolean(true)) {
            // DVC 2's cache layout, cloud-versioned or uncached outs: DVC's own business
            throw new NotOurs("out " + out);
        }
        Path target = base.resolve(path).normalize();
        if (!target.startsWith(root)) {
            throw new NotOurs("out " + path + " outside the work copy");
        }
        if (md5.endsWith(".dir") && MD5.matcher(md5.substring(0, 32)).matches() && md5.length() == 36) {
            Path manifest = object(md5Dir, md5);
            JsonNode entries = JSON.readTree(manifest.toFile());
            if (!entries.isArray()) {
                throw new NotOurs(manifest + " is no directory manifest");
            }
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new NotOurs(path + " is there already");
            }
            for (JsonNode e : entries) {
                Path t = target.resolve(e.path("relpath").asText("")).normalize();
                if (!t.startsWith(target) || t.equals(target)) {
                    throw new NotOurs("entry " + e + " of " + manifest);
                }
                links.add(link(md5Dir, t, e.path("md5").asText(""), e.path("isexec").asBoolean(false), bytes));
            }
        } else {
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new NotOurs(path + " is there already");
            }
            links.add(link(md5Dir, target, md5, out.path("isexec").asBoolean(false), bytes));
        }
    }

    private static Link link(Path md5Dir, Path target, String md5, boolean exec, long[] bytes) throws IOException, NotOurs {
        if (!MD5.matcher(md5).matches()) {
            throw new NotOurs("md5 '" + md5 + "' of " + target);
        }
        Path object = object(md5Dir, md5);
        bytes[0] += Files.size(object);
        return new Link(target, object, exec);
    }

    private static Path object(Path md5Dir, String md5) throws NotOurs {
        Path p = md5Dir.resolve(md5.substring(0, 2)).resolve(md5.substring(2));
        if (!Files.isRegularFile(p)) {
            throw new NotOurs("cache object " + p + " missing"); // dvc checkout says what is missing
        }
        return p;
    }
}
