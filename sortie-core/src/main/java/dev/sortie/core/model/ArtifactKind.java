package dev.sortie.core.model;

public enum ArtifactKind { ARTIFACT, CHECKPOINT }
