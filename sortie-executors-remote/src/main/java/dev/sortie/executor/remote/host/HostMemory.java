package dev.sortie.executor.remote.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * What this machine remembers of one host, in the project's {@code .sortie/}: the agent versions it installed
 * there and the file lists it synced there (so a warm host costs no round trip to ask; the launch checks both and
 * a host that lost them gets them again), and the attempts it gave up on while the host did not answer (stopped
 * at the next connection). Only a memory: losing it costs a question to the host, never data. Without a state
 * folder (a command outside a project) it remembers nothing.
 */
public final class HostMemory {
    private static final System.Logger LOG = System.getLogger(HostMemory.class.getName());
    private final Path installedDir;
    private final Path lostDir;
    private final String hostKey;

    /** A lost attempt's note: the run to stop on the host (none when the note is malformed), forgotten once stopped. */
    public record LostAttempt(Path note, String experimentId, int attempt) {
        public boolean wellFormed() {
            return experimentId != null;
        }
    }

    public HostMemory(Path stateDir, String hostKey) {
        this.hostKey = hostKey;
        this.installedDir = stateDir == null ? null : stateDir.resolve("ssh-agents").resolve(sha1(hostKey));
        this.lostDir = stateDir == null ? null : stateDir.resolve("ssh-lost").resolve(sha1(hostKey));
    }

    /** Whether this agent classpath was installed on the host before. */
    public boolean installed(String classpath) {
        return installedDir != null && Files.exists(installNote(classpath));
    }

    public void rememberInstall(String classpath) throws IOException {
        if (installedDir != null) {
            Files.createDirectories(installedDir);
            Files.writeString(installNote(classpath), classpath, StandardCharsets.UTF_8);
        }
    }

    /** The host lost its agent: every install remembered for it is forgotten. */
    public void forgetInstalls() throws IOException {
        if (installedDir != null && Files.isDirectory(installedDir)) {
            try (Stream<Path> s = Files.list(installedDir)) {
                for (Path p : s.toList()) {
                    if (Files.isRegularFile(p)) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    private Path installNote(String classpath) {
        return installedDir.resolve(sha1(hostKey + "\n" + classpath));
    }

    /** Whether a whole file list (by its tree id) was synced into {@code remoteRoot} on the host. */
    public boolean knowsTree(String remoteRoot, String treeId) {
        return installedDir != null && Files.exists(treeNote(remoteRoot, treeId));
    }

    public void rememberTree(String remoteRoot, String treeId) {
        if (installedDir == null) {
            return;
        }
        try {
            Path note = treeNote(remoteRoot, treeId);
            Files.createDirectories(note.getParent());
            Files.writeString(note, "", StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "the note of a synced tree was not kept: {0}", e);
            // a memory only: the next run asks the host instead
        }
    }

    public void forgetTree(String remoteRoot, String treeId) {
        if (installedDir != null) {
            try {
                Files.deleteIfExists(treeNote(remoteRoot, treeId));
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "the note of a synced tree was not removed: {0}", e);
                // next time the launch says it is gone again
            }
        }
    }

    /** One note per tree and remote_dir: another remote_dir on the same host is another cache. */
    private Path treeNote(String remoteRoot, String treeId) {
        return installedDir.resolve("trees").resolve(sha1(remoteRoot + "\n" + treeId));
    }

    /**
     * Notes an attempt given up on because the host did not answer. If the host comes back with the attempt still
     * going (a network cut, not a dead host), the next connection stops it: its experiment runs elsewhere now.
     */
    public void rememberLost(String experimentId, int attempt) {
        if (lostDir == null) {
            return;
        }
        try {
            Files.createDirectories(lostDir);
            Files.writeString(lostDir.resolve(experimentId + "-" + attempt), experimentId + " " + attempt, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "{0} attempt {1} was given up on, but the note to stop it if its host comes back could not be written: {2}", experimentId, String.valueOf(attempt), e);
            // best effort: without the note a run that comes back runs to its end, collected by nobody
        }
    }

    /** The attempts noted as lost, in no particular order. */
    public List<LostAttempt> lostAttempts() throws IOException {
        List<LostAttempt> out = new ArrayList<>();
        if (lostDir == null || !Files.isDirectory(lostDir)) {
            return out;
        }
        List<Path> notes;
        try (Stream<Path> s = Files.list(lostDir)) {
            notes = s.toList();
        }
        for (Path note : notes) {
            String[] f = Files.readString(note, StandardCharsets.UTF_8).trim().split(" ");
            out.add(f.length == 2 ? new LostAttempt(note, f[0], Integer.parseInt(f[1])) : new LostAttempt(note, null, 0));
        }
        return out;
    }

    public void forgetLost(LostAttempt lost) throws IOException {
        Files.deleteIfExists(lost.note());
    }

    static String sha1(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
