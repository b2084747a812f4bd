package dev.sortie.executor.aws;

import dev.sortie.core.util.Trace;
import dev.sortie.executor.remote.channel.HostChannel;
import dev.sortie.executor.ssh.SshExecutor;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A login into the instance an {@link InstanceHint} names, on a thread of its own from the moment it is made, that
 * confirms the host is that instance before anything runs there: the SSH connection accepts only the host key Sortie
 * gave the instance (a terminated instance's address given to another host fails here), and the instance id the node
 * read from its metadata service at boot ({@link NodeScript#INSTANCE_ID}) must be the hint's. Once confirmed, it makes
 * the host ready as an ssh executor's warm-up does (agent check, host shell), so the launch finds all of it done.
 */
final class HotLogin {
    private static final System.Logger LOG = System.getLogger(HotLogin.class.getName());
    private final InstanceHint hint;
    private final SshExecutor ssh;
    private final CompletableFuture<Boolean> confirmed = new CompletableFuture<>();

    private HotLogin(InstanceHint hint, SshExecutor ssh) {
        this.hint = hint;
        this.ssh = ssh;
    }

    /** Starts the login to the hinted instance through {@code ssh} (made for its address, user and host key only). */
    static HotLogin start(InstanceHint hint, SshExecutor ssh) {
        HotLogin login = new HotLogin(hint, ssh);
        Thread t = new Thread(login::run, "sortie-aws-login");
        t.setDaemon(true);
        t.start();
        return login;
    }

    private void run() {
        boolean ok = false;
        try {
            HostChannel c = ssh.host().connection(false);
            HostChannel.Result r = c.exec(List.of("cat", NodeScript.INSTANCE_ID), Duration.ofSeconds(20));
            String id = r.stdout().strip();
            ok = r.ok() && id.equals(hint.id());
            if (ok) {
                Trace.mark("aws: " + hint.id() + " confirmed on the instance (host key, instance id)");
                ssh.warmUp(); // agent check and host shell now, not at the launch; its failures are the launch's to meet again
            } else {
                LOG.log(System.Logger.Level.DEBUG, "the host at {0} is not instance {1} (its node says \"{2}\", exit {3})",
                        hint.address(), hint.id(), id, r.exitCode());
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no direct login to {0} at {1}: {2}", hint.id(), hint.address(), e.toString());
        } finally {
            confirmed.complete(ok);
        }
    }

    InstanceHint hint() {
        return hint;
    }

    SshExecutor ssh() {
        return ssh;
    }

    /** True: the host is the hinted instance; false: it is not, or it did not answer; null: no answer within {@code wait}. */
    Boolean await(Duration wait) {
        try {
            return confirmed.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException e) {
            return false; // not reached: run() completes it normally
        }
    }

    /** True once the host is confirmed as the hinted instance, false once it is not or did not answer. */
    CompletableFuture<Boolean> confirmed() {
        return confirmed;
    }

    /** Waits until the login ended, however it did. */
    void join() {
        confirmed.join();
    }

    /** Closes the login once it ended (now, or when it does): its host was not used. */
    void discard() {
        confirmed.whenComplete((ok, e) -> ssh.close());
    }
}
