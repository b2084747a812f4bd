package dev.sortie.executor.remote.host;

import dev.sortie.executor.remote.channel.HostChannel;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One shell kept running on a host for the small commands a run needs over and over: starting the agent, and the
 * looks that follow it. Each SSH command costs the host a new session and a login shell (sshd runs
 * {@code $SHELL -c}, and bash reads {@code ~/.bashrc} there: ~0.1 s on a host that initialises conda or pyenv
 * in it); through this shell a command costs a few forks. Opened when the executor warms up, so its own start
 * overlaps with the laptop's preparation.
 *
 * <p>Protocol (stdin, one field a line): the function's name, its argument count, each argument, then one line
 * of stdin for it. The reply is {@code sortie-reply EXIT STDOUT_BYTES STDERR_BYTES}, then those bytes. Only the
 * functions listed in {@link #FUNCTIONS} can be called, each a fixed script of this class path taking its inputs
 * as quoted positional parameters, as with a command of its own. Arguments with a newline are not sent this way
 * ({@link #accepts}); the caller then runs the command on its own.
 */
public final class HostShell implements AutoCloseable {
    /** The scripts the shell can run, by function name (a name may only hold letters and '_'). */
    public static final Map<String, String> FUNCTIONS = Map.of(
            "sortie_launch", AgentLaunch.LAUNCH,
            "sortie_look", RunPoll.SCRIPT);
    static final String REPLY = "sortie-reply";
    private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);

    /** The shell: each script as a function, then a loop that answers calls until stdin closes. */
    static final String SERVE = serve();

    private static String serve() {
        StringBuilder sb = new StringBuilder();
        FUNCTIONS.forEach((name, script) -> sb.append(name).append("() {\n").append(script).append("\n}\n"));
        return sb + String.join("\n",
                "t=$(mktemp -d) || exit 1",
                "trap 'rm -rf \"$t\"' EXIT",
                "trap 'exit 1' HUP INT TERM PIPE", // and so through the EXIT trap: no temp folder left behind
                "while IFS= read -r fn && IFS= read -r argc; do",
                "  case \"$fn\" in " + String.join("|", new java.util.TreeSet<>(FUNCTIONS.keySet())) + ") ;; *) exit 2;; esac",
                "  case \"$argc\" in ''|*[!0-9]*) exit 2;; esac",
                "  set --",
                "  i=0",
                "  while [ \"$i\" -lt \"$argc\" ]; do IFS= read -r a || exit 2; set -- \"$@\" \"$a\"; i=$((i + 1)); done",
                "  IFS= read -r input || exit 2",
                // a subshell: the scripts' own 'exit N' ends the call, not this loop
                "  printf '%s' \"$input\" | (\"$fn\" \"$@\") >\"$t/o\" 2>\"$t/e\"; rc=$?",
                "  printf '" + REPLY + " %s %s %s\\n' \"$rc\" $(($(wc -c <\"$t/o\"))) $(($(wc -c <\"$t/e\")))",
                "  cat \"$t/o\" \"$t/e\"",
                "done",
                "");
    }

    private final HostChannel connection;
    private final HostChannel.OpenCommand command;
    private final InputStream in;

    private HostShell(HostChannel connection, HostChannel.OpenCommand command) {
        this.connection = connection;
        this.command = command;
        this.in = new BufferedInputStream(command.stdout(), 1 << 16);
    }

    public static HostShell open(HostChannel c) throws IOException {
        return new HostShell(c, c.start(List.of("sh", "-c", SERVE, "sortie-shell"), OPEN_TIMEOUT));
    }

    /** Whether it still answers over {@code c} (after a reconnection a new one is needed). */
    public boolean usableOn(HostChannel c) {
        return connection == c && command.isOpen();
    }

    /** Whether a call with these inputs can go through the shell (one field a line: no newlines in them). */
    public static boolean accepts(List<String> args, String input) {
        return args.stream().noneMatch(a -> a.indexOf('\n') >= 0 || a.indexOf('\r') >= 0)
                && input.indexOf('\n') < 0 && input.indexOf('\r') < 0;
    }

    /**
     * Calls a function of {@link #FUNCTIONS} with {@code args} and {@code input} on its stdin. Any failure leaves
     * the shell unusable: close it. {@link NotSent} says the function did not run; after any other failure it may
     * have run (only a call that can be repeated, a look, may then run again on its own).
     */
    public synchronized HostChannel.Result call(String function, List<String> args, String input, OutputStream stdout)
            throws IOException {
        if (!FUNCTIONS.containsKey(function) || !accepts(args, input)) {
            throw new IllegalArgumentException("not a call for the host shell: " + function);
        }
        StringBuilder request = new StringBuilder(function).append('\n').append(args.size()).append('\n');
        for (String a : args) {
            request.append(a).append('\n');
        }
        request.append(input).append('\n');
        try {
            command.stdin().write(request.toString().getBytes(StandardCharsets.UTF_8));
            command.stdin().flush();
        } catch (IOException | RuntimeException e) {
            throw new NotSent(e);
        }
        String where = connection.where();
        String[] reply = readLine(where).split(" ");
        if (reply.length != 4 || !reply[0].equals(REPLY)) {
            throw new IOException("the shell on " + where + " answered out of step: " + String.join(" ", reply));
        }
        int exit = Integer.parseInt(reply[1]);
        long outBytes = Long.parseLong(reply[2]);
        long errBytes = Long.parseLong(reply[3]);
        copy(outBytes, stdout, where);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        copy(errBytes, err, where);
        return new HostChannel.Result(exit, "", err.toString(StandardCharsets.UTF_8));
    }

    /** The call never reached the shell: nothing ran, so the command can be run on its own instead. */
    public static final class NotSent extends IOException {
        NotSent(Throwable cause) {
            super("the call did not reach the host's shell: " + cause.getMessage(), cause);
        }
    }

    private void copy(long n, OutputStream to, String where) throws IOException {
        byte[] buf = new byte[8192];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) {
                throw new IOException("the shell on " + where + " stopped mid-answer");
            }
            to.write(buf, 0, r);
            n -= r;
        }
    }

    private String readLine(String where) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("the shell on " + where + " ended");
            }
            if (sb.length() > 200) {
                throw new IOException("the shell on " + where + " answered out of step: " + sb);
            }
            sb.append((char) b);
        }
        return sb.toString();
    }

    @Override
    public void close() {
        command.close();
    }
}
