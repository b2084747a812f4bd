package dev.sortie.agent.remote;

import dev.sortie.core.executor.CodeFile;
import dev.sortie.core.util.Hosts;
import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The charset this JVM names files in and passes argv and the environment on in ({@code sun.jnu.encoding}, from the
 * host's locale; the launch sets a UTF-8 one when the host has one). Where it cannot carry a run's names, the run
 * fails saying so, instead of the program getting '?' for every character it cannot encode.
 */
final class HostEncoding {
    private HostEncoding() {
    }

    /** Why this JVM cannot run {@code run} byte for byte, or null when it can. */
    static String problem(AgentRun run) {
        String name = System.getProperty("sun.jnu.encoding", "UTF-8");
        CharsetEncoder encoder;
        try {
            encoder = Charset.forName(name).newEncoder();
        } catch (RuntimeException e) {
            return null; // a charset the JDK does not know: nothing better to say than what the run itself will say
        }
        List<String> texts = new ArrayList<>(run.command());
        for (Map.Entry<String, String> e : run.environment().entrySet()) {
            texts.add(e.getKey());
            texts.add(e.getValue());
        }
        run.files().stream().map(CodeFile::path).forEach(texts::add);
        texts.addAll(run.extraFiles().keySet());
        for (String t : texts) {
            if (!encoder.canEncode(t)) {
                return "the agent on " + Hosts.name() + " runs with the charset " + name + " (its locale), which cannot carry '"
                        + t + "'; the host needs a UTF-8 locale ('locale -a' lists them: C.UTF-8 comes with glibc 2.35+,"
                        + " or install the 'locales' package and generate en_US.UTF-8)";
            }
        }
        return null;
    }
}
