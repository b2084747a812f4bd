package dev.sortie.core.executor;

import dev.sortie.core.model.ArtifactRecord;
import dev.sortie.core.model.MetricPoint;
import dev.sortie.core.model.RunLocator;
import java.util.List;

/**
 * A listener that passes everything on to another: wrappers (a pool's attempt, a run's cost) override only what they
 * add, so a method added to {@link RunListener} reaches the run's own listener through every wrapper.
 */
public abstract class ForwardingRunListener implements RunListener {
    protected final RunListener delegate;

    protected ForwardingRunListener(RunListener delegate) {
        this.delegate = delegate;
    }

    @Override
    public void launching() throws InterruptedException {
        delegate.launching();
    }

    @Override
    public void started(RunLocator handle) {
        delegate.started(handle);
    }

    @Override
    public void commandExited() {
        delegate.commandExited();
    }

    @Override
    public void progress(String message) {
        delegate.progress(message);
    }

    @Override
    public void waiting(String message) {
        delegate.waiting(message);
    }

    @Override
    public void output(String line) {
        delegate.output(line);
    }

    @Override
    public void outputBytes(byte[] bytes, int offset, int length) {
        delegate.outputBytes(bytes, offset, length);
    }

    @Override
    public void metrics(List<MetricPoint> points) {
        delegate.metrics(points);
    }

    @Override
    public void saved(List<ArtifactRecord> files) {
        delegate.saved(files);
    }

    @Override
    public double recorded(String metric) {
        return delegate.recorded(metric);
    }
}
