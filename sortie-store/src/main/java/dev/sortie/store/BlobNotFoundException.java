package dev.sortie.store;

import java.io.FileNotFoundException;

/** A blob asked for by hash is not in the store. */
public final class BlobNotFoundException extends FileNotFoundException {
    private final String hash;
    private final String location;

    public BlobNotFoundException(String hash, String location) {
        super("blob " + hash + " is not in the store at " + location);
        this.hash = hash;
        this.location = location;
    }

    public String hash() {
        return hash;
    }

    public String location() {
        return location;
    }
}
