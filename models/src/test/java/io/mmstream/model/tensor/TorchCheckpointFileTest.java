package io.mmstream.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.tensor.TorchCheckpointWriter.Pickle;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restricted unpickler on archives built byte by byte: strided, half and bfloat16 tensors load
 * with the right values; every hostile or malformed input is refused with an error naming the file
 * and what was refused. The Python-written hostile files come from {@code hostile/make_hostile.py}.
 */
class TorchCheckpointFileTest {
  private static final String MARKER = "/tmp/mmstream-hostile-pickle-ran";

  @TempDir Path dir;

  private static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }

  private static byte[] shorts(int... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      b.putShort((short) v);
    }
    return b.array();
  }

  private static long[] dims(long... d) {
    return d;
  }

  /** A state dict {"w": <value written by body>}. */
  private static Pickle stateDictWith(Consumer<Pickle> value) {
    Pickle p = new Pickle().proto().emptyOrderedDict().op('(').str("w");
    value.accept(p);
    return p.op('u', '.');
  }

  private static Pickle f32Tensor(Pickle p, long numel, long offset, long[] shape, long[] stride) {
    return p.tensor("FloatStorage", "0", numel, offset, shape, stride);
  }

  @Test
  void readsStridedHalfAndBfloat16Tensors() throws Exception {
    Pickle p = new Pickle().proto().emptyOrderedDict().op('(');
    p.str("matrix");
    f32Tensor(p, 6, 0, dims(2, 3), dims(3, 1));
    p.str("transposed");
    f32Tensor(p, 6, 0, dims(3, 2), dims(1, 3));
    p.str("second_row");
    f32Tensor(p, 6, 3, dims(3), dims(1));
    p.str("half").tensor("HalfStorage", "1", 2, 0, dims(2), dims(1));
    p.str("bf16").tensor("BFloat16Storage", "2", 2, 0, dims(2), dims(1));
    p.op('u', '.');
    Path file =
        new TorchCheckpointWriter()
            .pickle(p)
            .storage("0", floats(0, 1, 2, 3, 4, 5))
            .storage("1", shorts(0x3E00, 0xC000)) // 1.5, -2 in float16
            .storage("2", shorts(0x3F80, 0xBF00)) // 1.0, -0.5 in bfloat16
            .write(dir.resolve("model.pth"));
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store =
            CheckpointWeightStore.open(List.of(CheckpointWeightStore.Part.of(file)), manager, DataType.FLOAT32, false)) {
      assertThat(store.load("matrix", dims(2, 3)).orElseThrow().toFloatArray()).containsExactly(0, 1, 2, 3, 4, 5);
      assertThat(store.load("transposed", dims(3, 2)).orElseThrow().toFloatArray()).containsExactly(0, 3, 1, 4, 2, 5);
      assertThat(store.load("second_row", dims(3)).orElseThrow().toFloatArray()).containsExactly(3, 4, 5);
      assertThat(store.load("half", dims(2)).orElseThrow().toFloatArray()).containsExactly(1.5f, -2f);
      assertThat(store.load("bf16", dims(2)).orElseThrow().toFloatArray()).containsExactly(1f, -0.5f);
      assertThat(store.storedDtypes()).containsExactly("BF16", "F16", "F32");
    }
  }

  @Test
  void refusesPythonWrittenPicklesThatWouldCallOsSystemOrEval() throws Exception {
    Files.deleteIfExists(Path.of(MARKER));
    Path system = resource("os_system.pth");
    Path eval = resource("builtins_eval.bin");
    assertThatThrownBy(() -> TorchCheckpointFile.open(system))
        .isInstanceOf(CheckpointFormatException.class)
        .hasMessageStartingWith(system.toString())
        .hasMessageContaining("archive/data.pkl")
        .hasMessageContaining("global 'posix.system' is not allowed");
    assertThatThrownBy(() -> CheckpointWeightStore.open(
            List.of(CheckpointWeightStore.Part.of(eval)), null, DataType.FLOAT32, false))
        .isInstanceOf(CheckpointFormatException.class)
        .hasMessageStartingWith(eval.toString())
        .hasMessageContaining("global '__builtin__.eval' is not allowed");
    assertThat(Path.of(MARKER)).doesNotExist();
  }

  @Test
  void refusesGlobalsOutsideTheTensorSubset() throws Exception {
    assertRefused(stateDictWith(p -> p.global("os", "system").op('(').str("id").op('t', 'R')), "global 'os.system'");
    assertRefused(
        stateDictWith(p -> p.op(0x8c, 8).op("builtins".chars().toArray()).op(0x8c, 4).op("eval".chars().toArray())
            .op(0x93)),
        "global 'builtins.eval'");
    assertRefused(stateDictWith(p -> p.global("torch", "load")), "global 'torch.load'");
  }

  @Test
  void refusesReduceOnAnythingButTheRebuildCallables() throws Exception {
    assertRefused(stateDictWith(p -> p.global("torch", "FloatStorage").op(')', 'R')),
        "REDUCE on global 'torch.FloatStorage'");
    assertRefused(stateDictWith(p -> p.str("os.system").op(')', 'R')), "REDUCE on the str 'os.system'");
    assertRefused(stateDictWith(p -> p.global("collections", "OrderedDict").op('(').str("x").op('t', 'R')),
        "OrderedDict with arguments");
  }

  @Test
  void refusesBuildAndObjectOpcodes() throws Exception {
    assertRefused(stateDictWith(p -> p.op('}').op('}').op('b')), "BUILD on a dict");
    assertRefused(stateDictWith(p -> f32Tensor(p, 4, 0, dims(4), dims(1)).op('}').op('b')), "BUILD on a tensor");
    assertRefused(stateDictWith(p -> p.global("collections", "OrderedDict").op(')').op(0x81)), "opcode NEWOBJ (0x81)");
    assertRefused(stateDictWith(p -> p.op('(').global("collections", "OrderedDict").op('o')), "opcode OBJ (0x6f 'o')");
    assertRefused(stateDictWith(p -> p.op('i').op("os\nsystem\n".chars().toArray())), "opcode INST (0x69 'i')");
    assertRefused(stateDictWith(p -> p.op('P').op("0\n".chars().toArray())), "opcode PERSID (0x50 'P')");
  }

  @Test
  void refusesTensorsOutsideTheirStorage() throws Exception {
    assertRefused(stateDictWith(p -> f32Tensor(p, 4, 0, dims(3, 3), dims(3, 1))), "reaches element 8 of storage '0', which holds 4");
    assertRefused(stateDictWith(p -> f32Tensor(p, 4, 2, dims(3), dims(1))), "reaches element 4");
    assertRefused(stateDictWith(p -> f32Tensor(p, 4, 0, dims(2, 2), dims(2))), "differ in length");
    assertRefused(stateDictWith(p -> f32Tensor(p, 4, 0, dims(-1), dims(1))), "negative size or stride");
    assertRefused(stateDictWith(p -> f32Tensor(p, 4, 0, dims(1L << 40, 1L << 40), dims(1, 1))), "overflows");
  }

  @Test
  void refusesStorageEntriesThatDisagreeWithThePickle() throws Exception {
    Pickle claimsEight = stateDictWith(p -> f32Tensor(p, 8, 0, dims(8), dims(1)));
    Path shortStorage = new TorchCheckpointWriter().pickle(claimsEight).storage("0", floats(1, 2, 3, 4))
        .write(dir.resolve("short.bin"));
    assertThatThrownBy(() -> TorchCheckpointFile.open(shortStorage))
        .hasMessageStartingWith(shortStorage.toString())
        .hasMessageContaining("storage '0' (8 × F32 = 32 bytes) but entry archive/data/0 holds 16 bytes");
    Path noStorage = new TorchCheckpointWriter().pickle(claimsEight).write(dir.resolve("none.bin"));
    assertThatThrownBy(() -> TorchCheckpointFile.open(noStorage))
        .hasMessageContaining("storage '0' has no entry archive/data/0");
    Pickle huge = stateDictWith(p -> f32Tensor(p, 1L << 62, 0, dims(1), dims(1)));
    Path hugeStorage = new TorchCheckpointWriter().pickle(huge).storage("0", floats(1)).write(dir.resolve("huge.bin"));
    assertThatThrownBy(() -> TorchCheckpointFile.open(hugeStorage))
        .isInstanceOf(CheckpointFormatException.class)
        .hasMessageContaining("storage '0' claims 4611686018427387904 elements");
    Pickle twoSizes = new Pickle().proto().emptyOrderedDict().op('(').str("a");
    f32Tensor(twoSizes, 4, 0, dims(4), dims(1)).str("b");
    f32Tensor(twoSizes, 8, 0, dims(8), dims(1)).op('u', '.');
    assertRefused(twoSizes, "storage '0' is named twice with different type or size");
  }

  @Test
  void refusesTruncatedAndMalformedArchives() throws Exception {
    Pickle valid = stateDictWith(p -> f32Tensor(p, 4, 0, dims(4), dims(1)));
    Path good = new TorchCheckpointWriter().pickle(valid).storage("0", floats(1, 2, 3, 4)).write(dir.resolve("good.bin"));
    try (TorchCheckpointFile file = TorchCheckpointFile.open(good)) {
      assertThat(file.tensors()).containsOnlyKeys("w");
    }
    byte[] bytes = Files.readAllBytes(good);
    Path half = Files.write(dir.resolve("half.bin"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
    assertThatThrownBy(() -> TorchCheckpointFile.open(half))
        .isInstanceOf(CheckpointFormatException.class)
        .hasMessageStartingWith(half.toString())
        .hasMessageContaining("truncated");
    Path empty = Files.write(dir.resolve("empty.bin"), new byte[0]);
    assertThatThrownBy(() -> TorchCheckpointFile.open(empty)).hasMessageContaining("truncated (0 bytes)");

    byte[] noStop = java.util.Arrays.copyOf(valid.bytes(), valid.bytes().length - 1);
    Path cut = new TorchCheckpointWriter().pickle(new Pickle().raw(noStop)).storage("0", floats(1, 2, 3, 4))
        .write(dir.resolve("nostop.bin"));
    assertThatThrownBy(() -> TorchCheckpointFile.open(cut)).hasMessageContaining("ends without STOP");

    assertRefused(new Pickle().proto().op('X', 0xFF, 0xFF, 0xFF, 0x7F), "declares 2147483647 bytes");
    assertRefused(new Pickle().proto().op('h', 7), "memo index 7 was never stored");
    assertRefused(new Pickle().proto().op('a'), "stack underflow");

    Path legacy = Files.write(dir.resolve("legacy.bin"), new byte[] {(byte) 0x80, 2, 'N', '.'});
    assertThatThrownBy(() -> TorchCheckpointFile.open(legacy)).hasMessageContaining("legacy torch.save format");
    Path plainZip = new TorchCheckpointWriter().storage("0", floats(1)).write(dir.resolve("plain.zip"));
    assertThatThrownBy(() -> TorchCheckpointFile.open(plainZip)).hasMessageContaining("not a torch.save checkpoint");
  }

  @Test
  void refusesCompressedEntries() throws Exception {
    Path deflated = dir.resolve("deflated.bin");
    try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(deflated))) {
      zip.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
      zip.write(new Pickle().proto().op('}', '.').bytes());
      zip.closeEntry();
    }
    assertThatThrownBy(() -> TorchCheckpointFile.open(deflated))
        .hasMessageContaining("zip entry 'archive/data.pkl' is compressed (method 8)");
  }

  @Test
  void refusesDeepNestingWithoutRecursing() throws Exception {
    Pickle deep = new Pickle().proto();
    int depth = 100_000;
    for (int i = 0; i < depth; i++) {
      deep.op(']');
    }
    for (int i = 0; i < depth - 1; i++) {
      deep.op('a');
    }
    assertRefused(deep.op('.'), "containers nested deeper than the limit 100");
    // nesting through the memo keeps the stack short; depth is still tracked
    Pickle memoNested = new Pickle().proto().op(']', 'q', 0, '0');
    for (int i = 0; i < 200; i++) {
      memoNested.op(']', 'h', 0, 'a', 'q', 0, '0'); // memo[0] = [memo[0]], popped again
    }
    assertRefused(memoNested.op('h', 0, '.'), "containers nested deeper than the limit 100");
  }

  @Test
  void findsTheStateDictUnderModelAndKeepsOnlyTensors() throws Exception {
    Pickle p = new Pickle().proto().op('}').op('(').str("epoch").integer(3).str("model").emptyOrderedDict().op('(')
        .str("w");
    f32Tensor(p, 2, 0, dims(2), dims(1)).op('u').str("config").op('}').op('u', '.');
    Path file = new TorchCheckpointWriter().pickle(p).storage("0", floats(7, 8)).write(dir.resolve("train.pth"));
    try (TorchCheckpointFile ckpt = TorchCheckpointFile.open(file)) {
      assertThat(ckpt.stateDictKey()).contains("model");
      assertThat(ckpt.tensors()).containsOnlyKeys("w");
      ByteBuffer bytes = ckpt.read("w");
      assertThat(bytes.getFloat(0)).isEqualTo(7f);
      assertThat(bytes.getFloat(4)).isEqualTo(8f);
    }
  }

  @Test
  void acceptsStateDictMetadataAndProtocol4Framing() throws Exception {
    // torch.save(model.state_dict()): the OrderedDict's _metadata attribute arrives through BUILD;
    // protocol 4 adds FRAME, MEMOIZE and SHORT_BINUNICODE
    Pickle p = new Pickle().op(0x80, 4).op(0x95, 0, 0, 0, 0, 0, 0, 0, 0).emptyOrderedDict().op(0x94).op('(');
    p.op(0x8c, 1, 'w');
    f32Tensor(p, 2, 0, dims(2), dims(1)).op(0x94).op('u');
    p.op('}').op(0x8c, 9).op("_metadata".chars().toArray()).emptyOrderedDict().op('(').op(0x8c, 0).op('}')
        .op(0x8c, 7).op("version".chars().toArray()).op('K', 1).op('s', 'u', 's').op('b', '.');
    Path file = new TorchCheckpointWriter().pickle(p).storage("0", floats(1, 2)).write(dir.resolve("meta.bin"));
    try (TorchCheckpointFile ckpt = TorchCheckpointFile.open(file)) {
      assertThat(ckpt.tensors()).containsOnlyKeys("w");
      assertThat(ckpt.stateDictKey()).isEmpty();
    }
  }

  @Test
  void storeOpensBinDirectoriesAndPartsAndChecksShapes() throws Exception {
    Pickle a = stateDictWith(p -> f32Tensor(p, 4, 0, dims(2, 2), dims(2, 1)));
    Path model = Files.createDirectories(dir.resolve("model"));
    new TorchCheckpointWriter().pickle(a).storage("0", floats(1, 2, 3, 4))
        .write(model.resolve(CheckpointWeightStore.TORCH_SINGLE_FILE));
    Path other = new TorchCheckpointWriter().pickle(a).storage("0", floats(5, 6, 7, 8)).write(dir.resolve("other.pth"));
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store = CheckpointWeightStore.open(model, manager, DataType.FLOAT32, false)) {
      assertThat(store.load("w", dims(2, 2)).orElseThrow().toFloatArray()).containsExactly(1, 2, 3, 4);
      assertThatThrownBy(() -> store.load("w", dims(4)))
          .isInstanceOf(WeightException.class)
          .hasMessageContaining("tensor 'w' has shape [2, 2], the config implies [4]");
    }
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store =
            CheckpointWeightStore.open(
                List.of(new CheckpointWeightStore.Part(model, "lm."), CheckpointWeightStore.Part.of(other),
                    new CheckpointWeightStore.Part(other, "lm.")),
                manager, DataType.FLOAT32, false)) {
      assertThat(store.load("w", dims(2, 2)).orElseThrow().toFloatArray()).containsExactly(5, 6, 7, 8);
      // a later part replaces an earlier part's key, as successive load_state_dict calls do
      assertThat(store.load("lm.w", dims(2, 2)).orElseThrow().toFloatArray()).containsExactly(5, 6, 7, 8);
    }
    Path sharded = Files.createDirectories(dir.resolve("sharded"));
    Files.copy(other, sharded.resolve("pytorch_model-00001-of-00002.bin"));
    Files.copy(other, sharded.resolve("pytorch_model-00002-of-00002.bin"));
    Files.writeString(sharded.resolve(CheckpointWeightStore.TORCH_INDEX_FILE),
        "{\"weight_map\": {\"w\": \"pytorch_model-00001-of-00002.bin\", \"v\": \"pytorch_model-00002-of-00002.bin\"}}");
    assertThatThrownBy(() -> CheckpointWeightStore.open(sharded, null, DataType.FLOAT32, false))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining("tensor 'w' appears in more than one shard");
    Path empty = Files.createDirectories(dir.resolve("empty"));
    assertThatThrownBy(() -> CheckpointWeightStore.open(empty, null, DataType.FLOAT32, false))
        .hasMessageContaining("none of model.safetensors, model.safetensors.index.json, pytorch_model.bin,"
            + " pytorch_model.bin.index.json found");
  }

  private void assertRefused(Pickle pickle, String expected) throws Exception {
    Path file = new TorchCheckpointWriter().pickle(pickle).storage("0", floats(1, 2, 3, 4))
        .write(Files.createTempFile(dir, "hostile", ".bin"));
    assertThatThrownBy(() -> TorchCheckpointFile.open(file))
        .isInstanceOf(CheckpointFormatException.class)
        .hasMessageStartingWith(file.toString())
        .hasMessageContaining("archive/data.pkl offset ")
        .hasMessageContaining(expected);
  }

  private Path resource(String name) throws Exception {
    Path target = dir.resolve(name);
    try (InputStream in = getClass().getResourceAsStream("hostile/" + name)) {
      Files.copy(in, target);
    }
    return target;
  }
}
