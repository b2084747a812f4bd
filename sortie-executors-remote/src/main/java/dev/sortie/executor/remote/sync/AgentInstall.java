package dev.sortie.executor.remote.sync;

import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.remote.host.RemoteLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Puts the agent on a host: {@code <remote_dir>/agent/<sha256>.jar} for each jar of an {@link AgentBundle}. One
 * command finds the missing jars (usually none: a host that has this version costs one round trip), one tar stream
 * sends them, atomically like all uploads (see {@link RemoteFiles#send}); no jar is ever sent twice.
 */
public final class AgentInstall {
    private AgentInstall() {
    }

    /**
     * Makes sure every jar of {@code bundle} is on the host.
     *
     * @return the remote classpath: the jars' absolute paths on the host, colon-separated, in the bundle's order
     * @throws IllegalArgumentException if the remote_dir holds a ':', which a Java classpath cannot carry
     */
    public static String ensure(HostChannel c, RemoteLayout layout, AgentBundle bundle) throws IOException {
        if (layout.root().contains(":")) {
            throw new IllegalArgumentException("remote_dir " + layout.root() + " on " + c.where()
                    + " contains ':', which cannot be in a Java classpath; choose another remote_dir");
        }
        List<AgentBundle.Jar> jars = bundle.jars();
        Map<String, AgentBundle.Jar> byName = new HashMap<>();
        for (AgentBundle.Jar j : jars) {
            byName.put(j.fileName(), j);
        }
        RemoteFiles.send(c, layout.agentDir(), byName.keySet(), null, layout.agentDir() + "/tmp", missing -> {
            List<RemoteFiles.Upload> uploads = new ArrayList<>();
            for (String name : missing) {
                AgentBundle.Jar j = byName.get(name);
                uploads.add(new RemoteFiles.Upload(name, j.size(), () -> Files.newInputStream(j.local())));
            }
            return uploads;
        }, SyncProgress.NONE, "agent jars", false);
        return classpath(layout, jars);
    }

    /** The classpath of {@code jars} once they are in the host's agent folder. */
    public static String classpath(RemoteLayout layout, List<AgentBundle.Jar> jars) {
        return jars.stream().map(j -> layout.agentDir() + "/" + j.fileName()).collect(Collectors.joining(":"));
    }
}
