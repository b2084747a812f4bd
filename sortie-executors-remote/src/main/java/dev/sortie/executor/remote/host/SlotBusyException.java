package dev.sortie.executor.remote.host;

import java.io.IOException;

/** The slot a launch asked for is held on the host by another run (another sortie process filled it). */
public final class SlotBusyException extends IOException {
    public SlotBusyException(String message) {
        super(message);
    }
}
