package io.mmstream.model.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive whose entries are stored uncompressed, as {@code torch.save}
 * writes them, with each entry's byte range in the file so the bytes can be memory-mapped.
 *
 * <p>Written by hand because java.util.zip does not expose where an entry's bytes sit in the file.
 * Reads zip64 records (checkpoints over 4 GiB); refuses compressed entries and ranges outside the file.
 */
final class StoredZip {

  /** One entry: name and the byte range of its (uncompressed) data in the archive file. */
  record Entry(String name, long dataOffset, long size) {}

  private static final int EOCD_SIGNATURE = 0x06054b50;
  private static final int ZIP64_EOCD_LOCATOR_SIGNATURE = 0x07064b50;
  private static final int ZIP64_EOCD_SIGNATURE = 0x06064b50;
  private static final int CENTRAL_SIGNATURE = 0x02014b50;
  private static final int LOCAL_SIGNATURE = 0x04034b50;
  private static final int EOCD_MIN_BYTES = 22;
  private static final int MAX_COMMENT_BYTES = 0xFFFF;
  private static final int LOCAL_HEADER_BYTES = 30;
  private static final int METHOD_STORED = 0;
  private static final long FIELD_IN_ZIP64 = 0xFFFFFFFFL;

  private StoredZip() {}

  /** Reads the entries of {@code channel}; errors name {@code path}. */
  static Map<String, Entry> read(Path path, FileChannel channel, int maxEntries) throws IOException {
    long fileSize = channel.size();
    if (fileSize < EOCD_MIN_BYTES) {
      throw new CheckpointFormatException(path, "not a zip archive or truncated (" + fileSize + " bytes)");
    }
    int tailLength = (int) Math.min(fileSize, EOCD_MIN_BYTES + MAX_COMMENT_BYTES);
    ByteBuffer tail = readAt(channel, fileSize - tailLength, tailLength);
    int eocd = -1;
    for (int i = tailLength - EOCD_MIN_BYTES; i >= 0; i--) {
      if (tail.getInt(i) == EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      throw new CheckpointFormatException(
          path, "not a zip archive or truncated (no end-of-central-directory record)");
    }
    long entryCount = tail.getShort(eocd + 10) & 0xFFFFL;
    long directorySize = tail.getInt(eocd + 12) & 0xFFFFFFFFL;
    long directoryOffset = tail.getInt(eocd + 16) & 0xFFFFFFFFL;
    long eocdPosition = fileSize - tailLength + eocd;
    if (eocdPosition >= 20 && channelInt(channel, eocdPosition - 20) == ZIP64_EOCD_LOCATOR_SIGNATURE) {
      long zip64Position = readAt(channel, eocdPosition - 20 + 8, 8).getLong(0);
      if (zip64Position < 0 || zip64Position + 56 > fileSize) {
        throw new CheckpointFormatException(path, "zip64 end record outside the file (truncated?)");
      }
      ByteBuffer zip64 = readAt(channel, zip64Position, 56);
      if (zip64.getInt(0) != ZIP64_EOCD_SIGNATURE) {
        throw new CheckpointFormatException(path, "bad zip64 end record");
      }
      entryCount = zip64.getLong(32);
      directorySize = zip64.getLong(40);
      directoryOffset = zip64.getLong(48);
    }
    if (entryCount > maxEntries) {
      throw new CheckpointFormatException(
          path, "zip lists " + entryCount + " entries, more than the limit " + maxEntries);
    }
    if (directoryOffset < 0 || directorySize < 0 || directoryOffset + directorySize > fileSize
        || directorySize > Integer.MAX_VALUE) {
      throw new CheckpointFormatException(path, "zip central directory outside the file (truncated?)");
    }
    ByteBuffer directory = readAt(channel, directoryOffset, (int) directorySize);
    Map<String, Entry> entries = new LinkedHashMap<>();
    int p = 0;
    for (long i = 0; i < entryCount; i++) {
      if (p + 46 > directory.limit() || directory.getInt(p) != CENTRAL_SIGNATURE) {
        throw new CheckpointFormatException(path, "corrupt zip central directory at entry " + i);
      }
      int method = directory.getShort(p + 10) & 0xFFFF;
      long compressed = directory.getInt(p + 20) & 0xFFFFFFFFL;
      long size = directory.getInt(p + 24) & 0xFFFFFFFFL;
      int nameLength = directory.getShort(p + 28) & 0xFFFF;
      int extraLength = directory.getShort(p + 30) & 0xFFFF;
      int commentLength = directory.getShort(p + 32) & 0xFFFF;
      long localOffset = directory.getInt(p + 42) & 0xFFFFFFFFL;
      int next = p + 46 + nameLength + extraLength + commentLength;
      if (next > directory.limit()) {
        throw new CheckpointFormatException(path, "corrupt zip central directory at entry " + i);
      }
      byte[] nameBytes = new byte[nameLength];
      directory.get(p + 46, nameBytes);
      String name = new String(nameBytes, StandardCharsets.UTF_8);
      // zip64 extra field: the values stored as 0xFFFFFFFF follow in this order.
      int extra = p + 46 + nameLength;
      for (int e = extra; e + 4 <= extra + extraLength; ) {
        int id = directory.getShort(e) & 0xFFFF;
        int length = directory.getShort(e + 2) & 0xFFFF;
        if (id == 1) {
          int q = e + 4;
          if (size == FIELD_IN_ZIP64 && q + 8 <= e + 4 + length) {
            size = directory.getLong(q);
            q += 8;
          }
          if (compressed == FIELD_IN_ZIP64 && q + 8 <= e + 4 + length) {
            compressed = directory.getLong(q);
            q += 8;
          }
          if (localOffset == FIELD_IN_ZIP64 && q + 8 <= e + 4 + length) {
            localOffset = directory.getLong(q);
          }
        }
        e += 4 + length;
      }
      if (method != METHOD_STORED || compressed != size) {
        throw new CheckpointFormatException(
            path, "zip entry '" + name + "' is compressed (method " + method + "); torch.save stores entries uncompressed");
      }
      if (localOffset < 0 || localOffset + LOCAL_HEADER_BYTES > fileSize) {
        throw new CheckpointFormatException(path, "zip entry '" + name + "' starts outside the file (truncated?)");
      }
      ByteBuffer local = readAt(channel, localOffset, LOCAL_HEADER_BYTES);
      if (local.getInt(0) != LOCAL_SIGNATURE) {
        throw new CheckpointFormatException(path, "zip entry '" + name + "' has no local header");
      }
      long dataOffset =
          localOffset + LOCAL_HEADER_BYTES + (local.getShort(26) & 0xFFFF) + (local.getShort(28) & 0xFFFF);
      if (size < 0 || dataOffset + size > fileSize) {
        throw new CheckpointFormatException(
            path, "zip entry '" + name + "' (" + size + " bytes) runs past the end of the file (truncated?)");
      }
      if (entries.put(name, new Entry(name, dataOffset, size)) != null) {
        throw new CheckpointFormatException(path, "zip entry '" + name + "' appears twice");
      }
      p = next;
    }
    return Collections.unmodifiableMap(entries);
  }

  private static int channelInt(FileChannel channel, long position) throws IOException {
    return readAt(channel, position, 4).getInt(0);
  }

  static ByteBuffer readAt(FileChannel channel, long position, int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position + buffer.position());
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
    }
    return buffer.flip();
  }
}
