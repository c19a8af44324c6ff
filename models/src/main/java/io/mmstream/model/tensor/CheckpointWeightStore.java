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
 * Tensors of a checkpoint, whatever the files: a Hugging Face model directory ({@code
 * model.safetensors}, the shards of {@code model.safetensors.index.json}, {@code pytorch_model.bin},
 * the shards of {@code pytorch_model.bin.index.json}, in that order of preference), or an explicit
 * list of {@link Part}s, each a file ({@code .safetensors} or a {@code torch.save} {@code .bin}/{@code
 * .pth}, told apart by content) or such a directory, with a key prefix.
 *
 * <p>PyTorch files go through {@link TorchCheckpointFile} (a restricted unpickler: nothing in them
 * is executed); a training checkpoint whose state dict sits under {@code "model"} is read from there.
 * Within one part a key may appear once; across parts a later part's key replaces an earlier one, as
 * successive {@code load_state_dict} calls do (MiniGPT-4 loads its {@code .pth} files that way).
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
  public static final String TORCH_SINGLE_FILE = "pytorch_model.bin";
  public static final String TORCH_INDEX_FILE = "pytorch_model.bin.index.json";

  /** A checkpoint file or model directory whose keys are loaded as {@code prefix + key}. */
  public record Part(Path path, String prefix) {
    public static Part of(Path path) {
      return new Part(path, "");
    }
  }

  private final String description;
  private final NDManager manager;
  private final DataType floatType;
  private final boolean writable;
  private final List<TensorFile> files;
  private final Map<String, TensorFile.Info> entries = new LinkedHashMap<>();
  private final Map<String, TensorFile> fileOf = new LinkedHashMap<>();
  private final Map<String, String> storedName = new LinkedHashMap<>();
  private final Set<String> used = new HashSet<>();
  /** Mappings stay referenced while arrays built on them may be alive. */
  private final List<ByteBuffer> mappings = new ArrayList<>();

  private CheckpointWeightStore(
      String description, NDManager manager, DataType floatType, boolean writable, List<TensorFile> files) {
    this.description = description;
    this.manager = manager;
    this.floatType = floatType;
    this.writable = writable;
    this.files = files;
  }

  private void add(List<TensorFile> partFiles, String prefix, Path where) {
    Set<String> seen = new HashSet<>();
    for (TensorFile file : partFiles) {
      for (TensorFile.Info e : file.tensors().values()) {
        String key = prefix + e.name();
        if (!seen.add(key)) {
          throw new WeightException(where + ": tensor '" + e.name() + "' appears in more than one shard");
        }
        entries.remove(key);
        entries.put(key, e);
        fileOf.put(key, file);
        storedName.put(key, e.name());
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
    return open(List.of(Part.of(directory)), manager, floatType, writable);
  }

  /**
   * Opens several checkpoint files or directories as one store (keys prefixed per part); tensors are
   * created with {@code manager}.
   */
  public static CheckpointWeightStore open(
      List<Part> parts, NDManager manager, DataType floatType, boolean writable) throws IOException {
    String description =
        parts.size() == 1 && parts.get(0).prefix().isEmpty()
            ? parts.get(0).path().toString()
            : parts.stream().map(p -> p.prefix() + "<-" + p.path()).toList().toString();
    CheckpointWeightStore store = new CheckpointWeightStore(description, manager, floatType, writable, new ArrayList<>());
    try {
      for (Part part : parts) {
        List<TensorFile> partFiles = new ArrayList<>();
        for (Path p : Files.isDirectory(part.path()) ? modelFiles(part.path()) : List.of(part.path())) {
          partFiles.add(openFile(p));
          store.files.add(partFiles.get(partFiles.size() - 1));
        }
        store.add(partFiles, part.prefix(), part.path());
      }
    } catch (IOException | RuntimeException e) {
      store.close();
      throw e;
    }
    return store;
  }

  /** Opens one checkpoint file: a torch.save zip or a safetensors file. */
  public static TensorFile openFile(Path file) throws IOException {
    return TorchCheckpointFile.isTorchZip(file) ? TorchCheckpointFile.open(file) : SafetensorsFile.open(file);
  }

  /** The checkpoint files of a Hugging Face model directory, by the preference order above. */
  public static List<Path> modelFiles(Path directory) throws IOException {
    for (String[] layout :
        new String[][] {{INDEX_FILE, SINGLE_FILE}, {TORCH_INDEX_FILE, TORCH_SINGLE_FILE}}) {
      Path index = directory.resolve(layout[0]);
      Path single = directory.resolve(layout[1]);
      if (Files.isRegularFile(index)) {
        JsonNode weightMap = new ObjectMapper().readTree(index.toFile()).get("weight_map");
        if (weightMap == null) {
          throw new IOException(index + ": no weight_map");
        }
        Set<String> shardNames = new TreeSet<>();
        for (Iterator<JsonNode> it = weightMap.elements(); it.hasNext(); ) {
          shardNames.add(it.next().asText());
        }
        List<Path> paths = new ArrayList<>();
        for (String shard : shardNames) {
          paths.add(directory.resolve(shard));
        }
        return paths;
      } else if (Files.isRegularFile(single)) {
        return List.of(single);
      }
    }
    throw new IOException(directory + ": none of " + SINGLE_FILE + ", " + INDEX_FILE + ", " + TORCH_SINGLE_FILE
        + ", " + TORCH_INDEX_FILE + " found");
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
    for (TensorFile.Info e : entries.values()) {
      boolean isFloat = e.dtype().startsWith("F") || e.dtype().equals("BF16");
      long width = isFloat ? floatType.getNumOfBytes() : DTypes.djl(e.dtype()).getNumOfBytes();
      total += e.elementCount() * width;
    }
    return total;
  }

  /** The dtype names the checkpoint stores its tensors in (F32, F16, BF16, I64, ...). */
  public Set<String> storedDtypes() {
    Set<String> dtypes = new TreeSet<>();
    for (TensorFile.Info e : entries.values()) {
      dtypes.add(e.dtype());
    }
    return dtypes;
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    TensorFile.Info entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (expectedShape != null && !Arrays.equals(entry.shape(), expectedShape)) {
      throw new WeightException(
          description + ": tensor '" + key + "' has shape " + Arrays.toString(entry.shape())
              + ", the config implies " + Arrays.toString(expectedShape));
    }
    used.add(key);
    try {
      return Optional.of(toArray(entry, fileOf.get(key).read(storedName.get(key))));
    } catch (IOException e) {
      throw new WeightException(description + ": cannot read tensor '" + key + "'", e);
    }
  }

  private NDArray toArray(TensorFile.Info entry, ByteBuffer mapped) {
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
    return description;
  }

  @Override
  public void close() throws IOException {
    for (TensorFile f : files) {
      f.close();
    }
  }
}
