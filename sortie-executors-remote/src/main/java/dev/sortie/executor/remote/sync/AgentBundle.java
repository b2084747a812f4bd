package dev.sortie.executor.remote.sync;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The agent's classpath as this JVM has it, to be run on hosts: each jar identified by the SHA-256 of its bytes, so
 * a host keeps one copy per version and an upgrade uploads only the jars that changed.
 *
 * <p>{@link #current()} takes the jars (or class folders, when running from {@code target/classes}) that hold a few
 * marker classes: the agent itself, sortie-core, sortie-store (the agent keeps its blobs in a {@code LocalBlobStore})
 * and what they need at run time, Jackson and SnakeYAML. Not JGit and not MINA: the agent never uses them. A class
 * folder is zipped into a jar with sorted entries and fixed timestamps, so the same classes give the same hash.
 *
 * <p>Zipping and hashing happen once per instance, on first use; {@link #current()} is one instance per JVM.
 */
public final class AgentBundle {
    /** The agent's entry point on the host. */
    static final String MAIN_CLASS = "dev.sortie.agent.remote.AgentMain";
    /** One class per jar of the agent's classpath, the agent's first; named, not referenced: this module does not call them. */
    public static final List<String> MARKERS = List.of(
            MAIN_CLASS,
            "dev.sortie.core.model.Experiment",
            "dev.sortie.store.LocalBlobStore",
            "com.fasterxml.jackson.databind.ObjectMapper",
            "com.fasterxml.jackson.core.JsonFactory",
            "com.fasterxml.jackson.annotation.JsonProperty",
            "com.fasterxml.jackson.dataformat.yaml.YAMLFactory",
            "org.yaml.snakeyaml.Yaml");
    /** Inside the range of zip's DOS dates, and independent of the time zone (unlike {@code setTime(long)}). */
    private static final LocalDateTime ZIP_TIME = LocalDateTime.of(2000, 1, 1, 0, 0);

    /** A JVM's classpath does not change: its bundle is found, zipped and hashed once, whoever asks. */
    private static volatile AgentBundle current;

    private final List<Path> entries;
    private List<Jar> jars;

    private AgentBundle(List<Path> entries) {
        this.entries = List.copyOf(entries);
    }

    /** One jar of the bundle: its SHA-256, its size, and where its bytes are on this machine. */
    public record Jar(String sha256, long size, Path local) {
        /** Its name on the host: {@code <sha256>.jar}. */
        String fileName() {
            return sha256 + ".jar";
        }
    }

    /**
     * The agent of this JVM's classpath, the same instance on every call.
     *
     * @throws IllegalStateException if a marker class is missing (an incomplete installation of Sortie)
     */
    public static AgentBundle current() {
        AgentBundle b = current;
        if (b == null) {
            b = find();
            current = b; // two racing first calls make two equal bundles: harmless
        }
        return b;
    }

    private static AgentBundle find() {
        ClassLoader loader = AgentBundle.class.getClassLoader();
        Set<Path> paths = new LinkedHashSet<>();
        for (String name : MARKERS) {
            paths.add(codeSource(loader, name));
        }
        return new AgentBundle(new ArrayList<>(paths));
    }

    /** The store client's provider, named: this module does not depend on it (the CLI ships it). */
    static final String S3_PROVIDER = "dev.sortie.store.s3.S3BlobStoreProvider";
    /** The packages of the S3 store's jars besides its own: the AWS SDK and what it needs at run time. */
    private static final List<String> S3_PACKAGES = List.of("software/amazon/", "org/reactivestreams/", "org/slf4j/");
    private static volatile AgentBundle withS3;

    /**
     * The agent with the S3 store's client (sortie-store-s3, the AWS SDK's S3 client and its dependencies), for runs
     * whose node reads and writes the project's bucket itself: this JVM's jars that hold the provider or those packages.
     * Installed by hash like the agent, on the hosts that need it only (about 9 MB more than the agent's 3).
     *
     * @throws IllegalStateException when this installation has no S3 store
     */
    public static AgentBundle withS3Store() {
        AgentBundle b = withS3;
        if (b == null) {
            AgentBundle base = current();
            Set<Path> paths = new LinkedHashSet<>(base.entries);
            ClassLoader loader = AgentBundle.class.getClassLoader();
            paths.add(codeSource(loader, S3_PROVIDER));
            try {
                java.util.Enumeration<URL> manifests = loader.getResources("META-INF/MANIFEST.MF");
                while (manifests.hasMoreElements()) {
                    Path jar = jarOf(manifests.nextElement());
                    if (jar != null && !paths.contains(jar) && s3ClientJar(jar)) {
                        paths.add(jar);
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot list this installation's jars for the S3 store's client: " + e.getMessage(), e);
            }
            b = new AgentBundle(new ArrayList<>(paths));
            withS3 = b;
        }
        return b;
    }

    /** The local jar a {@code jar:file:/..!/META-INF/MANIFEST.MF} URL names; null for anything else. */
    private static Path jarOf(URL manifest) {
        String u = manifest.toString();
        if (!u.startsWith("jar:file:") || !u.contains("!/")) {
            return null;
        }
        try {
            return Path.of(new java.net.URI(u.substring(4, u.indexOf("!/")))).toAbsolutePath().normalize();
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Whether a jar is part of the S3 client: it holds one of {@link #S3_PACKAGES}, and no service client but S3's (the
     * CLI's EC2, IAM and SSM clients are 37 MB that a node never uses).
     */
    private static boolean s3ClientJar(Path jar) throws IOException {
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(jar.toFile())) {
            boolean[] found = {false, false}; // in the packages, another service's client
            z.stream().forEach(e -> {
                String n = e.getName();
                if (S3_PACKAGES.stream().anyMatch(n::startsWith)) {
                    found[0] = true;
                }
                if (n.startsWith(SERVICES) && n.length() > SERVICES.length() && !n.startsWith(SERVICES + "s3/")
                        && n.indexOf('/', SERVICES.length()) > 0) {
                    found[1] = true;
                }
            });
            return found[0] && !found[1];
        }
    }

    private static final String SERVICES = "software/amazon/awssdk/services/";

    /** A bundle of the given jars and class folders, in this classpath order. */
    public static AgentBundle of(List<Path> classpath) {
        return new AgentBundle(classpath);
    }

    public String mainClass() {
        return MAIN_CLASS;
    }

    /** The jars, in classpath order; hashed (and class folders zipped) on the first call only. */
    public synchronized List<Jar> jars() throws IOException {
        if (jars == null) {
            List<Jar> out = new ArrayList<>();
            for (Path p : entries) {
                Path jar = Files.isDirectory(p) ? zipFolder(p) : p;
                if (!Files.isRegularFile(jar)) {
                    throw new IOException("the agent's classpath entry " + p + " does not exist");
                }
                out.add(new Jar(sha256(jar), Files.size(jar), jar));
            }
            jars = List.copyOf(out);
        }
        return jars;
    }

    private static Path codeSource(ClassLoader loader, String className) {
        Class<?> c;
        try {
            c = Class.forName(className, false, loader);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the agent cannot be installed on hosts: class " + className
                    + " is not on this installation's classpath (a jar of Sortie's lib/ folder is missing?)", e);
        }
        CodeSource cs = c.getProtectionDomain().getCodeSource();
        URL url = cs == null ? null : cs.getLocation();
        if (url == null) {
            throw new IllegalStateException("cannot tell which jar holds " + className + " (it has no code source)");
        }
        try {
            return Path.of(url.toURI()).toAbsolutePath().normalize();
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot locate the jar of " + className + " (" + url + "): " + e.getMessage(), e);
        }
    }

    /** A jar of a class folder (a development build), with the same bytes for the same classes. */
    static Path zipFolder(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted((a, b) -> name(dir, a).compareTo(name(dir, b))).toList();
        }
        Path jar = Files.createTempFile("sortie-agent-classes-", ".jar");
        jar.toFile().deleteOnExit();
        try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Path f : files) {
                ZipEntry e = new ZipEntry(name(dir, f));
                e.setTimeLocal(ZIP_TIME);
                zip.putNextEntry(e);
                Files.copy(f, zip);
                zip.closeEntry();
            }
        }
        return jar;
    }

    private static String name(Path dir, Path file) {
        return dir.relativize(file).toString().replace(java.io.File.separatorChar, '/');
    }

    /** A jar is named on the host by the hash its content has in the store: the same SHA-256. */
    public static String sha256(Path file) throws IOException {
        return dev.sortie.store.BlobHash.of(file);
    }
}
