package dev.sortie.server;

/** A request the API refuses: its HTTP status, what is wrong, and the field (query param, JSON path) it is about. */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String field;

    public ApiError(int status, String message, String field) {
        super(message);
        this.status = status;
        this.field = field;
    }

    public static ApiError badRequest(String field, String message) {
        return new ApiError(400, message, field);
    }

    public static ApiError notFound(String message) {
        return new ApiError(404, message, null);
    }

    public int status() {
        return status;
    }

    public String field() {
        return field;
    }
}
