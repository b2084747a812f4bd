package dev.sortie.executor.ssh;

import dev.sortie.core.executor.CheckOptions;
import dev.sortie.core.executor.Executor;
import dev.sortie.core.executor.ExecutorCheck;
import dev.sortie.core.executor.ExecutorContext;
import dev.sortie.core.executor.ExecutorOption;
import dev.sortie.core.executor.ExecutorProvider;
import dev.sortie.core.executor.ExecutorSpec;
import dev.sortie.executor.remote.channel.ChannelException;
import dev.sortie.executor.remote.host.HostProbe;
import dev.sortie.executor.remote.host.HostReport;
import java.io.IOException;
import java.util.List;

/** The {@code ssh} executor type: a remote machine reached with SSH, configured like {@code ssh} itself is. */
public final class SshExecutorProvider implements ExecutorProvider {
    public static final String TYPE = "ssh";
    /** The key of {@code executor test --accept-new-host-key} in {@link CheckOptions}. */
    static final String ACCEPT_NEW_HOST_KEY = "accept_new_host_key";
    /** The options a pool's hosts take too (they are ssh executors). */
    static final List<ExecutorOption> HOST_OPTIONS = List.of(
            ExecutorOption.text("--remote-dir", "DIR", "remote_dir", "Where Sortie keeps its things on the host (default ~/.sortie)."),
            ExecutorOption.text("--lost-after", "DURATION", "lost_after", "A host silent this long is lost (default 5m)."));

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Executor create(ExecutorSpec spec, ExecutorContext context) {
        SshExecutorConfig config = SshExecutorConfig.fromOptions(spec.name(), spec.options());
        return context == null ? new SshExecutor(config, SshPaths.defaults())
                : new SshExecutor(config, SshPaths.defaults(), context.stateDir(), context.store());
    }

    @Override
    public List<ExecutorOption> addOptions() {
        return List.of(
                ExecutorOption.text("--host", "HOST", "host", "Host name, address or ~/.ssh/config alias."),
                ExecutorOption.integer("--port", "N", "port", "Port (default 22, or the ssh config's)."),
                ExecutorOption.text("--user", "USER", "user", "User (default: yours, or the ssh config's)."),
                ExecutorOption.text("--identity", "FILE", "identity", "Private key file."),
                HOST_OPTIONS.get(0), HOST_OPTIONS.get(1));
    }

    @Override
    public List<String> addExamples() {
        return List.of("sortie executor add gpu1 --type ssh --host gpu1.example.com --user me --identity ~/.ssh/id_ed25519",
                "sortie executor add box --type ssh --host box        # 'box' may be a Host alias of ~/.ssh/config");
    }

    @Override
    public List<ExecutorOption> testOptions() {
        return List.of(ExecutorOption.flag("--accept-new-host-key", ACCEPT_NEW_HOST_KEY,
                "Trust and record the host key of an ssh host not yet in known_hosts (check its fingerprint first)."));
    }

    /** Connects, probes the host (OS, CPUs, GPUs, Java, disk, a writable remote_dir) and says whether it can run Sortie. */
    @Override
    public ExecutorCheck check(Executor executor, CheckOptions options) throws IOException {
        return check((SshExecutor) executor, options.flag(ACCEPT_NEW_HOST_KEY));
    }

    static ExecutorCheck check(SshExecutor ssh, boolean acceptNewHostKey) throws IOException {
        if (acceptNewHostKey) {
            ssh = new SshExecutor(ssh.config().withAcceptNewHostKey(true), SshPaths.defaults());
        }
        HostReport report;
        try (SshConnection c = ssh.connect()) {
            // the executor's own remote_dir is the one checked for being writable and for free disk
            report = HostProbe.probe(c, ssh.config().remoteDir());
        } catch (ChannelException e) {
            return ExecutorCheck.failed(e.getMessage());
        }
        return report.canRunSortie() ? ExecutorCheck.ready(report.render()) : ExecutorCheck.notReady(report.render());
    }

    /** A run on an ssh host: the host and the command's process group there. */
    @Override
    public dev.sortie.core.executor.LocatorDescription describe(dev.sortie.core.model.RunLocator locator) {
        return dev.sortie.executor.remote.run.RemoteLocators.describe(locator);
    }
}
