package dev.sortie.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * Follows a log file that a command writes to directly, handing out complete lines. The command owns the
 * file (its stdout is redirected there by the OS), so no line is lost when the process that tails it dies:
 * the file is the record, tailing only streams and parses it.
 */
public final class LogTailer implements AutoCloseable {
    private final Path file;
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private FileChannel channel;
    private long position;

    public LogTailer(Path file, long startPosition) {
        this.file = file;
        this.position = startPosition;
    }

    /** Reads what has been written since the last call and passes each complete line on. Returns bytes read. */
    public long pump(Consumer<String> lines) throws IOException {
        if (channel == null) {
            if (!Files.exists(file)) {
                return 0;
            }
            channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        long total = 0;
        while (true) {
            buffer.clear();
            int n = channel.read(buffer, position);
            if (n <= 0) {
                break;
            }
            position += n;
            total += n;
            buffer.flip();
            while (buffer.hasRemaining()) {
                byte b = buffer.get();
                if (b == '\n') {
                    emit(lines);
                } else {
                    partial.write(b);
                }
            }
        }
        return total;
    }

    /** Reads to the end and passes on the last line even if it has no newline (the writer is gone). */
    public void drain(Consumer<String> lines) throws IOException {
        pump(lines);
        if (partial.size() > 0) {
            emit(lines);
        }
    }

    private void emit(Consumer<String> lines) {
        byte[] bytes = partial.toByteArray();
        partial.reset();
        int len = bytes.length;
        if (len > 0 && bytes[len - 1] == '\r') {
            len--;
        }
        String line;
        try {
            line = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .decode(ByteBuffer.wrap(bytes, 0, len)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            line = new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
        }
        lines.accept(line);
    }

    public long position() {
        return position;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
