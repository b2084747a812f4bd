package dev.sortie.core.executor;

/**
 * A run that goes on without the process following it. {@link #detach()} stops following (the run goes on, and
 * {@link #await()} returns an outcome whose status is {@link dev.sortie.core.model.ExperimentStatus#RUNNING});
 * {@link #stop} stops the run itself.
 */
public interface DetachedExecution extends Execution {

    void detach();
}
