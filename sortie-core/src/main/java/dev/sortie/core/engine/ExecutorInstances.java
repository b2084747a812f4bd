package dev.sortie.core.engine;

import dev.sortie.core.executor.DetachableExecutor;
import dev.sortie.core.executor.Provisioning;
import dev.sortie.core.model.Experiment;
import dev.sortie.core.model.ExperimentStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Each configured executor's machines (this machine for local ones, the hosts of ssh executors and pools) with the
 * experiments running on each and whether it answers: what {@code sortie status} tables, locally and on the server
 * ({@code GET /status}), from one place so both say the same. Executors that start machines of their own
 * (the provisioning SPI) are left out: their instances are listed from the cloud.
 */
public final class ExecutorInstances {
    private static final System.Logger LOG = System.getLogger(ExecutorInstances.class.getName());

    /** One machine of an executor, how many experiments run there now, and its state (busy, idle, unreachable). */
    public record Instance(String executor, String type, String host, long running, String state) {
    }

    private ExecutorInstances() {
    }

    public static List<Instance> of(ExperimentService service, List<Experiment> inFlight) {
        Set<String> unreachable = service.silentHosts().stream().map(DetachableExecutor.HostSilence::host).collect(Collectors.toSet());
        List<Instance> out = new ArrayList<>();
        for (String name : service.executors().names()) {
            String type = service.executors().spec(name).type();
            List<String> hosts;
            try {
                if (service.executors().get(name) instanceof Provisioning) {
                    continue; // its instances are listed on their own, from the cloud
                }
                hosts = service.executors().get(name).instances();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "executor {0} lists no hosts: {1}", name, e);
                hosts = List.of(); // a broken config is reported by 'sortie executor list'; status still shows the rest
            }
            List<Experiment> here = inFlight.stream()
                    .filter(e -> e.executor().equals(name) && e.status() == ExperimentStatus.RUNNING).toList();
            if (hosts.isEmpty()) {
                out.add(new Instance(name, type, "this machine", here.size(), here.isEmpty() ? "idle" : "busy"));
                continue;
            }
            for (String host : hosts) {
                long n = here.stream().filter(e -> e.handle() != null && host.equals(e.handle().host())).count();
                out.add(new Instance(name, type, host, n, unreachable.contains(host) ? "unreachable" : n > 0 ? "busy" : "idle"));
            }
        }
        return out;
    }
}
