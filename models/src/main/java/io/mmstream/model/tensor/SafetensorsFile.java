package io.mmstream.model.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One safetensors file, memory-mapped tensor by tensor.
 *
 * <p>Each tensor is mapped on its own so files larger than 2 GiB work and only the pages a model
 * touches are read. The header is parsed with Jackson; offsets are 64-bit.
 */
public final class SafetensorsFile implements TensorFile {

  /** A tensor entry of the header: dtype name as stored (F32, F16, BF16, I64, ...), shape, byte range. */
  public record Entry(String name, String dtype, long[] shape, long begin, long end) {
    public long byteLength() {
      return end - begin;
    }

    public long elementCount() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, Entry> entries;
  private final Map<String, Info> tensors;

  private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.entries = entries;
    Map<String, Info> infos = new LinkedHashMap<>();
    entries.forEach((name, e) -> infos.put(name, new Info(name, e.dtype(), e.shape().clone())));
    this.tensors = Collections.unmodifiableMap(infos);
  }

  public static SafetensorsFile open(Path path) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lengthBytes, 0);
      long headerLength = lengthBytes.flip().getLong();
      if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > channel.size()) {
        throw new IOException(path + ": not a safetensors file (header length " + headerLength + ")");
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLength);
      readFully(channel, header, 8);
      JsonNode root = JSON.readTree(header.array());
      long dataStart = 8 + headerLength;
      long dataLength = channel.size() - dataStart;
      Map<String, Entry> entries = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (field.getKey().equals("__metadata__")) {
          continue;
        }
        JsonNode node = field.getValue();
        JsonNode shapeNode = node.get("shape");
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = shapeNode.get(i).asLong();
        }
        long begin = node.get("data_offsets").get(0).asLong();
        long end = node.get("data_offsets").get(1).asLong();
        Entry entry = new Entry(field.getKey(), node.get("dtype").asText(), shape, begin, end);
        if (begin < 0 || end < begin || end > dataLength
            || entry.byteLength() != entry.elementCount() * DTypes.byteWidth(entry.dtype(), path)) {
          throw new IOException(path + ": tensor '" + entry.name() + "' has inconsistent offsets/shape");
        }
        entries.put(entry.name(), entry);
      }
      return new SafetensorsFile(path, channel, dataStart, Collections.unmodifiableMap(entries));
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position + buffer.position());
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
    }
  }

  @Override
  public Path path() {
    return path;
  }

  public Map<String, Entry> entries() {
    return entries;
  }

  @Override
  public Map<String, Info> tensors() {
    return tensors;
  }

  @Override
  public ByteBuffer read(String name) throws IOException {
    Entry entry = entries.get(name);
    if (entry == null) {
      throw new IllegalArgumentException(path + ": no tensor '" + name + "'");
    }
    return map(entry);
  }

  /** The tensor's bytes as a read-only little-endian mapping. Never write through it. */
  public ByteBuffer map(Entry entry) throws IOException {
    return channel
        .map(FileChannel.MapMode.READ_ONLY, dataStart + entry.begin(), entry.byteLength())
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
