package dev.sortie.executor.ssh;

import java.io.Console;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.client.config.keys.ClientIdentityLoader;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.session.SessionContext;

/**
 * Private key files, loaded when public-key authentication reaches them (after the agent's keys). A key protected by
 * a passphrase is asked for on the terminal, once per key and connection; with no terminal (a server, a queue worker,
 * a test) it is skipped, like {@code ssh -o BatchMode=yes} does, and remembered so that a failed login can say which key
 * was locked and how to fix it. Passphrases are kept only while the connection is being opened and are never logged
 * or put in a message.
 */
final class IdentityFiles implements ClientIdentityLoader, FilePasswordProvider {
    private final Console console;
    private final Map<String, String> passphrases = new ConcurrentHashMap<>();
    /** Keys that could not be used, in the order met, with why (no passphrase available, wrong passphrase). */
    private final Map<String, String> skipped = Collections.synchronizedMap(new LinkedHashMap<>());

    /** @param console where to ask for passphrases, or null when nobody can answer */
    IdentityFiles(Console console) {
        this.console = console;
    }

    boolean interactive() {
        return console != null;
    }

    @Override
    public boolean isValidLocation(NamedResource location) throws IOException {
        return DEFAULT.isValidLocation(location);
    }

    @Override
    public Iterable<KeyPair> loadClientIdentities(SessionContext session, NamedResource location, FilePasswordProvider ignored)
            throws IOException, GeneralSecurityException {
        try {
            return DEFAULT.loadClientIdentities(session, location, this);
        } catch (IOException | GeneralSecurityException e) {
            if (skipped.containsKey(key(location))) {
                return List.of(); // on to the next key, as ssh does
            }
            throw e;
        }
    }

    @Override
    public String getPassword(SessionContext session, NamedResource resource, int retryIndex) {
        String name = key(resource);
        if (console == null) {
            skipped.put(name, "it is protected by a passphrase and there is no terminal to ask for it");
            return null;
        }
        return passphrases.computeIfAbsent(name, n -> {
            char[] typed = console.readPassword("Enter passphrase for key '%s': ", n);
            if (typed == null || typed.length == 0) {
                skipped.put(n, "it is protected by a passphrase and none was given");
                return "";
            }
            String s = new String(typed);
            Arrays.fill(typed, '\0');
            return s;
        });
    }

    @Override
    public ResourceDecodeResult handleDecodeAttemptResult(SessionContext session, NamedResource resource, int retryIndex,
            String password, Exception err) {
        if (err != null) {
            passphrases.remove(key(resource));
            skipped.put(key(resource), "the passphrase given for it is wrong");
        }
        return ResourceDecodeResult.TERMINATE; // asked once per key: a wrong passphrase skips the key
    }

    /** "KEY: why" for each key that could not be used; empty when all could. */
    List<String> problems() {
        synchronized (skipped) {
            List<String> out = new ArrayList<>();
            skipped.forEach((k, why) -> out.add(k + ": " + why));
            return out;
        }
    }

    /** The keys that could not be used. */
    List<Path> skippedKeys() {
        synchronized (skipped) {
            return skipped.keySet().stream().map(Path::of).toList();
        }
    }

    /** One name per key file, however the path was spelled (MINA hands the loader and the parser different spellings). */
    private static String key(NamedResource resource) {
        try {
            return Path.of(resource.getName()).toAbsolutePath().normalize().toString();
        } catch (RuntimeException e) {
            return resource.getName();
        }
    }

    /** Forgets the passphrases typed (the connection is open, or failed). */
    void forgetPassphrases() {
        passphrases.clear();
    }
}
