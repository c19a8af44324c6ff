package io.mmstream.model.tensor;

import io.mmstream.model.tensor.RestrictedUnpickler.PickleDict;
import io.mmstream.model.tensor.RestrictedUnpickler.Storage;
import io.mmstream.model.tensor.RestrictedUnpickler.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A PyTorch checkpoint ({@code .bin} / {@code .pth}) as {@code torch.save} writes it since torch 1.6:
 * a zip of stored entries {@code <root>/data.pkl} (the pickled object), {@code <root>/data/<key>}
 * (one raw storage per key) and {@code <root>/version}; {@code <root>} varies ({@code archive}, the
 * file stem), so it is found, not assumed.
 *
 * <p>Read without executing the pickle: {@link RestrictedUnpickler} accepts only the tensor-rebuild
 * subset and refuses anything else with an error naming the file, the offset and the opcode or
 * global. Every tensor is checked against its storage (offset, size and stride inside the storage;
 * each storage entry exactly {@code numel × element size} bytes) before anything is read; tensor bytes
 * are memory-mapped from the zip (strided views are gathered into a copy).
 *
 * <p>The state dict is the pickled dict itself, or, when that dict holds a dict under {@code "model"}
 * or {@code "state_dict"} (training checkpoints such as MiniGPT-4's and LAVIS's {@code .pth}), that
 * inner dict ({@link #stateDictKey()} says which). Its tensor entries are this file's {@link
 * #tensors()}; other values are ignored. Storage types: float32, float16, bfloat16, float64 and the
 * integer/bool types. The legacy pre-1.6 format (a bare pickle stream) is refused.
 */
public final class TorchCheckpointFile implements TensorFile {

  /** Bounds on what a (possibly hostile) checkpoint may make the reader do. */
  public record Limits(
      long maxPickleBytes, int maxNestingDepth, int maxStackSize, int maxMemoEntries, int maxZipEntries) {
    /** data.pkl 256 MiB, nesting 100, stack and memo 10 M values, 10 M zip entries: far above real checkpoints. */
    public static final Limits DEFAULTS = new Limits(256L << 20, 100, 10_000_000, 10_000_000, 10_000_000);
  }

  /** The keys of a training checkpoint under which the model's state dict sits, in lookup order. */
  public static final List<String> STATE_DICT_KEYS = List.of("model", "state_dict");

  private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
  private static final int PICKLE_PROTO = 0x80;

  private final Path path;
  private final FileChannel channel;
  private final Map<String, StoredZip.Entry> storageEntries;
  private final Map<String, TensorView> views;
  private final Map<String, Info> tensors;
  private final String stateDictKey;

  private TorchCheckpointFile(
      Path path,
      FileChannel channel,
      Map<String, StoredZip.Entry> storageEntries,
      Map<String, TensorView> views,
      String stateDictKey) {
    this.path = path;
    this.channel = channel;
    this.storageEntries = storageEntries;
    this.views = views;
    this.stateDictKey = stateDictKey;
    Map<String, Info> infos = new LinkedHashMap<>();
    views.forEach((name, v) -> infos.put(name, new Info(name, v.storage().dtype(), v.shape().clone())));
    this.tensors = Collections.unmodifiableMap(infos);
  }

  /** True when the file starts like a zip archive (torch.save's format), false for safetensors and others. */
  public static boolean isTorchZip(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      if (channel.size() < ZIP_MAGIC.length) {
        return false;
      }
      ByteBuffer head = StoredZip.readAt(channel, 0, ZIP_MAGIC.length);
      for (byte b : ZIP_MAGIC) {
        if (head.get() != b) {
          return false;
        }
      }
      return true;
    }
  }

  public static TorchCheckpointFile open(Path path) throws IOException {
    return open(path, Limits.DEFAULTS);
  }

  public static TorchCheckpointFile open(Path path, Limits limits) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      if (channel.size() > 0 && (StoredZip.readAt(channel, 0, 1).get(0) & 0xFF) == PICKLE_PROTO) {
        throw new CheckpointFormatException(path, "legacy torch.save format (torch < 1.6, a bare pickle stream) is"
            + " not supported; re-save it with a current torch.save");
      }
      Map<String, StoredZip.Entry> entries = StoredZip.read(path, channel, limits.maxZipEntries());
      String root = archiveRoot(path, entries);
      checkByteOrder(path, channel, entries.get(root + "byteorder"));
      StoredZip.Entry pickleEntry = entries.get(root + "data.pkl");
      if (pickleEntry.size() > limits.maxPickleBytes()) {
        throw new CheckpointFormatException(path, pickleEntry.name() + " is " + pickleEntry.size()
            + " bytes, more than the limit " + limits.maxPickleBytes());
      }
      byte[] pickle = StoredZip.readAt(channel, pickleEntry.dataOffset(), (int) pickleEntry.size()).array();
      RestrictedUnpickler.Result result = RestrictedUnpickler.load(path, pickleEntry.name(), pickle, limits);
      Map<String, StoredZip.Entry> storageEntries = new LinkedHashMap<>();
      for (Storage s : result.storages().values()) {
        StoredZip.Entry e = entries.get(root + "data/" + s.key());
        if (e == null) {
          throw new CheckpointFormatException(path, "storage '" + s.key() + "' has no entry " + root + "data/" + s.key());
        }
        int width = DTypes.byteWidth(s.dtype(), path);
        if (s.elementCount() > Long.MAX_VALUE / width) {
          throw new CheckpointFormatException(path, "storage '" + s.key() + "' claims " + s.elementCount() + " elements");
        }
        long expected = s.elementCount() * width;
        if (e.size() != expected) {
          throw new CheckpointFormatException(path, "storage '" + s.key() + "' (" + s.elementCount() + " × "
              + s.dtype() + " = " + expected + " bytes) but entry " + e.name() + " holds " + e.size() + " bytes");
        }
        storageEntries.put(s.key(), e);
      }
      Object top = result.root();
      String stateDictKey = null;
      if (top instanceof PickleDict d) {
        for (String key : STATE_DICT_KEYS) {
          if (d.items.get(key) instanceof PickleDict inner) {
            stateDictKey = key;
            top = inner;
            break;
          }
        }
      }
      if (!(top instanceof PickleDict stateDict)) {
        throw new CheckpointFormatException(path, "the pickled object is not a dict of tensors");
      }
      Map<String, TensorView> views = new LinkedHashMap<>();
      stateDict.items.forEach(
          (key, value) -> {
            if (key instanceof String name && value instanceof TensorView view) {
              views.put(name, view);
            }
          });
      return new TorchCheckpointFile(path, channel, storageEntries, views, stateDictKey);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static String archiveRoot(Path path, Map<String, StoredZip.Entry> entries)
      throws CheckpointFormatException {
    List<String> roots = new ArrayList<>();
    for (String name : entries.keySet()) {
      int slash = name.indexOf('/');
      if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
        roots.add(name.substring(0, slash + 1));
      }
    }
    if (roots.size() != 1) {
      throw new CheckpointFormatException(path, roots.isEmpty()
          ? "zip without <root>/data.pkl: not a torch.save checkpoint"
          : "zip with several data.pkl entries " + roots);
    }
    return roots.get(0);
  }

  private static void checkByteOrder(Path path, FileChannel channel, StoredZip.Entry byteOrder) throws IOException {
    if (byteOrder == null) {
      return; // torch < 2.1 writes none; it only wrote little-endian files
    }
    String order = new String(
        StoredZip.readAt(channel, byteOrder.dataOffset(), (int) Math.min(byteOrder.size(), 16)).array(),
        StandardCharsets.US_ASCII).trim();
    if (!order.equals("little")) {
      throw new CheckpointFormatException(path, "storages are " + order + "-endian; only little-endian is read");
    }
  }

  @Override
  public Path path() {
    return path;
  }

  @Override
  public Map<String, Info> tensors() {
    return tensors;
  }

  /** The top-level key the state dict was found under ("model", "state_dict"), empty when it is the top level. */
  public Optional<String> stateDictKey() {
    return Optional.ofNullable(stateDictKey);
  }

  @Override
  public ByteBuffer read(String name) throws IOException {
    TensorView view = views.get(name);
    if (view == null) {
      throw new IllegalArgumentException(path + ": no tensor '" + name + "'");
    }
    int width = DTypes.byteWidth(view.storage().dtype(), path);
    StoredZip.Entry storage = storageEntries.get(view.storage().key());
    long count = view.elementCount();
    if (count == 0) {
      return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
    }
    if (view.contiguous()) {
      return map(storage.dataOffset() + view.offset() * width, count * width);
    }
    long last = view.offset();
    for (int i = 0; i < view.shape().length; i++) {
      last += (view.shape()[i] - 1) * view.stride()[i];
    }
    ByteBuffer span = map(storage.dataOffset() + view.offset() * width, (last - view.offset() + 1) * width);
    ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(count * width)).order(ByteOrder.LITTLE_ENDIAN);
    long[] index = new long[view.shape().length];
    byte[] element = new byte[width];
    for (long n = 0; n < count; n++) {
      long at = 0;
      for (int i = 0; i < index.length; i++) {
        at += index[i] * view.stride()[i];
      }
      span.get(Math.toIntExact(at * width), element);
      out.put(element);
      for (int i = index.length - 1; i >= 0 && ++index[i] == view.shape()[i]; i--) {
        index[i] = 0;
      }
    }
    return out.flip();
  }

  private ByteBuffer map(long position, long length) throws IOException {
    if (length > Integer.MAX_VALUE) {
      throw new CheckpointFormatException(path, "a tensor of " + length + " bytes exceeds the 2 GiB a mapping holds");
    }
    return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
