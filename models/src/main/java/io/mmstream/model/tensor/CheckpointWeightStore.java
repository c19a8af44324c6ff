package io.mmstream.model.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Tensors of a Hugging Face model directory: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json}.
 *
 * <p>F32 tensors are wrapped around their memory mapping without a copy when the model computes in
 * F32, so such arrays must never be modified in place (a write to a read-only mapping crashes the
 * JVM); pass {@code writable} to get private copies (training). F16 is converted by the engine;
 * BF16 is widened to F32 on load (bits shifted into the high half) because BF16 arrays are not
 * usable in this PyTorch build.
 */
public final class CheckpointWeightStore implements WeightStore {

  public static final String SINGLE_FILE = "model.safetensors";
  public static final String INDEX_FILE = "model.safetensors.index.json";

  private final Path directory;
  private final NDManager manager;
  private final DataType floatType;
  private final boolean writable;
  private final List<SafetensorsFile> files;
  private final Map<String, SafetensorsFile.Entry> entries = new LinkedHashMap<>();
  private final Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
  private final Set<String> used = new HashSet<>();
  /** Mappings stay referenced while arrays built on them may be alive. */
  private final List<ByteBuffer> mappings = new ArrayList<>();

  private CheckpointWeightStore(
      Path directory, NDManager manager, DataType floatType, boolean writable, List<SafetensorsFile> files) {
    this.directory = directory;
    this.manager = manager;
    this.floatType = floatType;
    this.writable = writable;
    this.files = files;
    for (SafetensorsFile file : files) {
      for (SafetensorsFile.Entry e : file.entries().values()) {
        if (entries.put(e.name(), e) != null) {
          throw new WeightException(directory + ": tensor '" + e.name() + "' appears in more than one shard");
        }
        fileOf.put(e.name(), file);
      }
    }
  }

  /** Float16/bfloat16 checkpoints compute in their precision on GPU; everything else in float32. */
  public static DataType computeType(Device device, Set<String> storedDtypes) {
    if (!device.isGpu()) {
      return DataType.FLOAT32;
    }
    Set<String> floats = storedDtypes.stream().filter(d -> d.startsWith("F") || d.equals("BF16"))
        .collect(Collectors.toSet());
    if (floats.equals(Set.of("F16"))) {
      return DataType.FLOAT16;
    }
    if (floats.equals(Set.of("BF16"))) {
      return DataType.BFLOAT16;
    }
    return DataType.FLOAT32;
  }

  /** Opens the checkpoint in {@code directory}; tensors are created with {@code manager}. */
  public static CheckpointWeightStore open(Path directory, NDManager manager, DataType floatType, boolean writable)
      throws IOException {
    Path index = directory.resolve(INDEX_FILE);
    Path single = directory.resolve(SINGLE_FILE);
    List<Path> paths = new ArrayList<>();
    if (Files.isRegularFile(index)) {
      JsonNode weightMap = new ObjectMapper().readTree(index.toFile()).get("weight_map");
      if (weightMap == null) {
        throw new IOException(index + ": no weight_map");
      }
      Set<String> shardNames = new TreeSet<>();
      for (Iterator<JsonNode> it = weightMap.elements(); it.hasNext(); ) {
        shardNames.add(it.next().asText());
      }
      for (String shard : shardNames) {
        paths.add(directory.resolve(shard));
      }
    } else if (Files.isRegularFile(single)) {
      paths.add(single);
    } else {
      throw new IOException(directory + ": neither " + SINGLE_FILE + " nor " + INDEX_FILE + " found");
    }
    List<SafetensorsFile> files = new ArrayList<>();
    try {
      for (Path p : paths) {
        files.add(SafetensorsFile.open(p));
      }
    } catch (IOException | RuntimeException e) {
      for (SafetensorsFile f : files) {
        f.close();
      }
      throw e;
    }
    return new CheckpointWeightStore(directory, manager, floatType, writable, files);
  }

  @Override
  public NDManager manager() {
    return manager;
  }

  @Override
  public DataType floatType() {
    return floatType;
  }

  @Override
  public boolean contains(String key) {
    return entries.containsKey(key);
  }

  /** Total bytes the stored tensors take once loaded in {@link #floatType()}. */
  public long loadedBytes() {
    long total = 0;
    for (SafetensorsFile.Entry e : entries.values()) {
      boolean isFloat = e.dtype().startsWith("F") || e.dtype().equals("BF16");
      total += isFloat ? e.elementCount() * floatType.getNumOfBytes() : e.byteLength();
    }
    return total;
  }

  /** The dtype names the checkpoint stores its tensors in (F32, F16, BF16, I64, ...). */
  public Set<String> storedDtypes() {
    Set<String> dtypes = new TreeSet<>();
    for (SafetensorsFile.Entry e : entries.values()) {
      dtypes.add(e.dtype());
    }
    return dtypes;
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    SafetensorsFile.Entry entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (expectedShape != null && !Arrays.equals(entry.shape(), expectedShape)) {
      throw new WeightException(
          directory + ": tensor '" + key + "' has shape " + Arrays.toString(entry.shape())
              + ", the config implies " + Arrays.toString(expectedShape));
    }
    used.add(key);
    try {
      return Optional.of(toArray(entry, fileOf.get(key).map(entry)));
    } catch (IOException e) {
      throw new WeightException(directory + ": cannot read tensor '" + key + "'", e);
    }
  }

  private NDArray toArray(SafetensorsFile.Entry entry, ByteBuffer mapped) {
    Shape shape = new Shape(entry.shape());
    switch (entry.dtype()) {
      case "BF16": {
        ByteBuffer widened = ByteBuffer.allocateDirect((int) (entry.elementCount() * 4)).order(ByteOrder.nativeOrder());
        for (long i = 0, n = entry.elementCount(); i < n; i++) {
          widened.putInt((mapped.getShort() & 0xFFFF) << 16);
        }
        NDArray f32 = manager.create(widened.flip(), shape, DataType.FLOAT32);
        return convert(f32, true);
      }
      case "F32":
      case "F16":
      case "F64": {
        DataType stored = DTypes.djl(entry.dtype());
        boolean zeroCopy = stored == floatType && !writable && mapped.order() == ByteOrder.nativeOrder();
        if (zeroCopy) {
          mappings.add(mapped);
          return manager.create(mapped, shape, stored);
        }
        NDArray raw = manager.create(copyOf(mapped), shape, stored);
        return convert(raw, true);
      }
      default:
        // Integer buffers (position_ids and the like) are small and may sit unaligned in the file.
        return manager.create(copyOf(mapped), shape, DTypes.djl(entry.dtype()));
    }
  }

  private NDArray convert(NDArray array, boolean owned) {
    if (array.getDataType() == floatType) {
      return array;
    }
    NDArray converted = array.toType(floatType, false);
    if (owned) {
      array.close();
    }
    return converted;
  }

  private static ByteBuffer copyOf(ByteBuffer source) {
    ByteBuffer copy = ByteBuffer.allocateDirect(source.remaining()).order(ByteOrder.nativeOrder());
    copy.put(source.duplicate().order(ByteOrder.LITTLE_ENDIAN));
    return copy.flip();
  }

  @Override
  public Set<String> unusedKeys() {
    Set<String> unused = new TreeSet<>(entries.keySet());
    unused.removeAll(used);
    return unused;
  }

  @Override
  public String describe() {
    return directory.toString();
  }

  @Override
  public void close() throws IOException {
    for (SafetensorsFile f : files) {
      f.close();
    }
  }
}
