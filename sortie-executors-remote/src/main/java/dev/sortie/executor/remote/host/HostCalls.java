package dev.sortie.executor.remote.host;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;

/** Runs the host's shell functions ({@link HostShell#FUNCTIONS}) over a channel, through the host's shell when it answers. */
public interface HostCalls {

    /** The host as messages name it, with its executor. */
    public String display();

    /**
     * Runs one of {@link HostShell#FUNCTIONS} on the host: through the host's shell when it answers, else (or when it
     * fails, or the inputs hold a newline) as a command of its own, {@code sh -c SCRIPT} with the same arguments.
     * Either way the script gets its inputs as positional parameters and {@code input} on its stdin. A call that is
     * not {@code repeatable} (a launch) is not run again when the shell lost its answer.
     */
    public HostChannel.Result call(HostChannel c, String function, List<String> args, String input, OutputStream stdout, Duration timeout,
                            boolean repeatable) throws IOException;
}
