package dev.sortie.cli.access;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The user's credentials file ({@code $XDG_CONFIG_HOME/sortie/credentials}, else {@code ~/.config/sortie/credentials};
 * {@code SORTIE_CREDENTIALS} names another): the server's URL and the token, mode 0600, never in a project's folder.
 */
public record CredentialsFile(Path path) {

    public static CredentialsFile of(Map<String, String> env) {
        String explicit = env.get("SORTIE_CREDENTIALS");
        if (explicit != null && !explicit.isBlank()) {
            return new CredentialsFile(Path.of(explicit));
        }
        String xdg = env.get("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return new CredentialsFile(base.resolve("sortie").resolve("credentials"));
    }

    public Optional<ServerLogin> read() {
        if (!Files.isRegularFile(path)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the credentials file " + path + ": " + e.getMessage(), e);
        }
        String server = p.getProperty("server");
        String token = p.getProperty("token");
        if (server == null || server.isBlank() || token == null || token.isBlank()) {
            throw new dev.sortie.core.config.ConfigException(path + ": expected the lines 'server=URL' and 'token=TOKEN'; run 'sortie login URL' again");
        }
        return Optional.of(new ServerLogin(server, token));
    }

    /** Writes the login: the file is made 0600 before the token goes in, and replaced whole (a crash leaves the old one). */
    public void write(ServerLogin login) throws IOException {
        Files.createDirectories(path.getParent());
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("cannot write " + tmp + ": another 'sortie login' is writing it", e);
        }
        Properties p = new Properties();
        p.setProperty("server", login.url());
        p.setProperty("token", login.token());
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "sortie login: keep this file to yourself (mode 0600)");
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Removes the file; whether there was one. */
    public boolean delete() throws IOException {
        return Files.deleteIfExists(path);
    }
}
