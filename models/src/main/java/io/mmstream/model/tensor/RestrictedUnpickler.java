package io.mmstream.model.tensor;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the {@code data.pkl} of a {@code torch.save} archive without executing anything: a pickle
 * virtual machine that knows only the tensor-rebuild subset torch emits.
 *
 * <p>Accepted globals: {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter} and the typed storage classes ({@code torch.FloatStorage},
 * {@code torch.HalfStorage}, ...), the latter only inside a persistent id. Accepted opcodes: the
 * protocol 2 to 5 opcodes for primitives (None, bools, ints, floats, str, bytes), tuples, lists,
 * dicts, memo, marks, {@code BINPERSID}, {@code REDUCE} on the accepted callables and {@code BUILD}
 * of an OrderedDict's attributes (the {@code _metadata} that {@code state_dict()} attaches, which is
 * dropped). Everything else is refused naming the file, the byte offset and the opcode or global.
 * There is no recursion over the data, and nesting depth, stack and memo are bounded by {@link
 * TorchCheckpointFile.Limits}.
 *
 * <p>Written by hand because no Java library reads pickles, and the point is to run none of it.
 */
final class RestrictedUnpickler {

  /** A callable named by GLOBAL / STACK_GLOBAL and admitted by the allow-list. */
  record Global(String module, String name) {
    @Override
    public String toString() {
      return module + "." + name;
    }
  }

  /** A typed storage resolved from a persistent id: dtype in safetensors spelling, element count. */
  record Storage(String key, String dtype, long elementCount, String location) {}

  /** {@code _rebuild_tensor_v2}'s arguments: a strided view of a storage. */
  record TensorView(Storage storage, long offset, long[] shape, long[] stride) {
    long elementCount() {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }

    boolean contiguous() {
      long expected = 1;
      for (int i = shape.length - 1; i >= 0; i--) {
        if (shape[i] != 1 && stride[i] != expected) {
          return false;
        }
        expected *= shape[i];
      }
      return true;
    }
  }

  /** An immutable tuple; depth is its nesting depth. */
  record Tuple(List<Object> items, int depth) {}

  /** A list; depth grows as containers are appended. */
  static final class PickleList {
    final List<Object> items = new ArrayList<>();
    int depth = 1;
  }

  /** A dict or OrderedDict; keys are primitives only (no container hashing over untrusted data). */
  static final class PickleDict {
    final Map<Object, Object> items = new LinkedHashMap<>();
    final boolean ordered;
    int depth = 1;

    PickleDict(boolean ordered) {
      this.ordered = ordered;
    }
  }

  static final Global ORDERED_DICT = new Global("collections", "OrderedDict");
  static final Global REBUILD_TENSOR_V2 = new Global("torch._utils", "_rebuild_tensor_v2");
  static final Global REBUILD_PARAMETER = new Global("torch._utils", "_rebuild_parameter");
  /** torch's legacy storage class names (still what torch.save pickles) and their dtypes. */
  static final Map<String, String> STORAGE_DTYPES =
      Map.ofEntries(
          Map.entry("FloatStorage", "F32"),
          Map.entry("HalfStorage", "F16"),
          Map.entry("BFloat16Storage", "BF16"),
          Map.entry("DoubleStorage", "F64"),
          Map.entry("LongStorage", "I64"),
          Map.entry("IntStorage", "I32"),
          Map.entry("ShortStorage", "I16"),
          Map.entry("CharStorage", "I8"),
          Map.entry("ByteStorage", "U8"),
          Map.entry("BoolStorage", "BOOL"));
  private static final Set<Global> CALLABLES = Set.of(ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER);
  private static final int MAX_GLOBAL_NAME_BYTES = 256;

  private static final Object MARK = new Object();

  private final Path file;
  private final String entry;
  private final ByteBuffer in;
  private final TorchCheckpointFile.Limits limits;
  private final List<Object> stack = new ArrayList<>();
  private final List<Integer> marks = new ArrayList<>();
  private final Map<Long, Object> memo = new HashMap<>();
  private final Map<String, Storage> storages = new LinkedHashMap<>();
  private int opcodeOffset;

  private RestrictedUnpickler(Path file, String entry, byte[] pickle, TorchCheckpointFile.Limits limits) {
    this.file = file;
    this.entry = entry;
    this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    this.limits = limits;
  }

  /** The unpickled object and every storage its persistent ids named. */
  record Result(Object root, Map<String, Storage> storages) {}

  /** Runs {@code pickle} (the bytes of {@code entry} in {@code file}); errors name both. */
  static Result load(Path file, String entry, byte[] pickle, TorchCheckpointFile.Limits limits)
      throws CheckpointFormatException {
    RestrictedUnpickler u = new RestrictedUnpickler(file, entry, pickle, limits);
    Object root = u.run();
    return new Result(root, u.storages);
  }

  private Object run() throws CheckpointFormatException {
    while (true) {
      if (!in.hasRemaining()) {
        throw error("ends without STOP (truncated?)");
      }
      opcodeOffset = in.position();
      int op = in.get() & 0xFF;
      switch (op) {
        case 0x80 -> { // PROTO
          int version = u8();
          if (version < 2 || version > 5) {
            throw error("pickle protocol " + version + " is not one torch.save writes");
          }
        }
        case 0x95 -> skip(8); // FRAME: a length hint only
        case '.' -> { // STOP
          Object result = pop();
          if (!stack.isEmpty() || !marks.isEmpty()) {
            throw error("STOP with values left on the stack");
          }
          return result;
        }
        case '(' -> marks.add(stack.size());
        case '0' -> pop();
        case '1' -> popMark();
        case '2' -> push(peek());
        case 'N' -> push(null);
        case 0x88 -> push(Boolean.TRUE);
        case 0x89 -> push(Boolean.FALSE);
        case 'K' -> push((long) u8());
        case 'M' -> push((long) u16());
        case 'J' -> push((long) in.getInt(advance(4)));
        case 0x8a -> push(longValue(u8()));
        case 0x8b -> push(longValue(length(i32())));
        case 'G' -> push(ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getDouble());
        case 'X' -> push(utf8(length(u32())));
        case 0x8c -> push(utf8(u8()));
        case 0x8d -> push(utf8(length(i64())));
        case 'T' -> push(latin1(length(i32())));
        case 'U' -> push(latin1(u8()));
        case 'B' -> push(bytes(length(u32())));
        case 'C' -> push(bytes(u8()));
        case 0x8e -> push(bytes(length(i64())));
        case ')' -> push(new Tuple(List.of(), 1));
        case 't' -> push(tuple(popMark()));
        case 0x85 -> push(tuple(popN(1)));
        case 0x86 -> push(tuple(popN(2)));
        case 0x87 -> push(tuple(popN(3)));
        case ']' -> push(new PickleList());
        case 'l' -> {
          List<Object> items = popMark();
          PickleList list = new PickleList();
          for (Object item : items) {
            append(list, item);
          }
          push(list);
        }
        case 'a' -> {
          Object item = pop();
          append(listOnTop(), item);
        }
        case 'e' -> {
          List<Object> items = popMark();
          PickleList list = listOnTop();
          for (Object item : items) {
            append(list, item);
          }
        }
        case '}' -> push(new PickleDict(false));
        case 'd' -> {
          List<Object> items = popMark();
          PickleDict dict = new PickleDict(false);
          putAll(dict, items);
          push(dict);
        }
        case 's' -> {
          Object value = pop();
          Object key = pop();
          put(dictOnTop(), key, value);
        }
        case 'u' -> {
          List<Object> items = popMark();
          putAll(dictOnTop(), items);
        }
        case 'q' -> memoize(u8());
        case 'r' -> memoize(u32());
        case 0x94 -> memoize(memo.size());
        case 'h' -> push(recall(u8()));
        case 'j' -> push(recall(u32()));
        case 'c' -> push(global(line(), line()));
        case 0x93 -> {
          Object name = pop();
          Object module = pop();
          if (!(module instanceof String m) || !(name instanceof String n)) {
            throw error("STACK_GLOBAL needs two strings");
          }
          push(global(m, n));
        }
        case 'Q' -> push(persistentLoad(pop()));
        case 'R' -> {
          Object args = pop();
          Object callable = pop();
          push(reduce(callable, args));
        }
        case 'b' -> build(pop(), peek());
        default -> throw error("opcode " + opcodeName(op) + " is not allowed (outside the tensor-rebuild subset)");
      }
    }
  }

  private Global global(String module, String name) throws CheckpointFormatException {
    Global g = new Global(module, name);
    boolean storageClass = module.equals("torch") && STORAGE_DTYPES.containsKey(name);
    if (!storageClass && !CALLABLES.contains(g)) {
      throw error("global '" + module + "." + name + "' is not allowed (only the tensor-rebuild subset:"
          + " collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,"
          + " torch.*Storage)");
    }
    return g;
  }

  private Object reduce(Object callable, Object args) throws CheckpointFormatException {
    if (!(callable instanceof Global g) || !CALLABLES.contains(g)) {
      throw error("REDUCE on " + describe(callable) + ", which is not a callable of the tensor-rebuild subset");
    }
    if (!(args instanceof Tuple t)) {
      throw error("REDUCE on " + g + " with " + describe(args) + " instead of an argument tuple");
    }
    List<Object> a = t.items();
    if (g.equals(ORDERED_DICT)) {
      if (!a.isEmpty()) {
        throw error("REDUCE on collections.OrderedDict with arguments (torch writes OrderedDict() only)");
      }
      return new PickleDict(true);
    }
    if (g.equals(REBUILD_PARAMETER)) {
      if (a.size() != 3 || !(a.get(0) instanceof TensorView view)) {
        throw error("REDUCE on " + g + " needs (tensor, requires_grad, hooks)");
      }
      return view;
    }
    return rebuildTensor(a);
  }

  private TensorView rebuildTensor(List<Object> a) throws CheckpointFormatException {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (a.size() != 6 && a.size() != 7) {
      throw error("REDUCE on " + REBUILD_TENSOR_V2 + " with " + a.size() + " arguments, expected 6 or 7");
    }
    if (!(a.get(0) instanceof Storage storage)) {
      throw error(REBUILD_TENSOR_V2 + " argument 0 is " + describe(a.get(0)) + ", not a storage");
    }
    if (!(a.get(1) instanceof Long offset) || offset < 0) {
      throw error(REBUILD_TENSOR_V2 + " storage offset " + describe(a.get(1)) + " is not a non-negative int");
    }
    long[] shape = longs(a.get(2), "size");
    long[] stride = longs(a.get(3), "stride");
    if (shape.length != stride.length) {
      throw error(REBUILD_TENSOR_V2 + " size " + Arrays.toString(shape) + " and stride "
          + Arrays.toString(stride) + " differ in length");
    }
    if (!(a.get(4) instanceof Boolean)) {
      throw error(REBUILD_TENSOR_V2 + " requires_grad is " + describe(a.get(4)));
    }
    for (int i = 5; i < a.size(); i++) {
      if (!(a.get(i) instanceof PickleDict d) || !d.items.isEmpty()) {
        throw error(REBUILD_TENSOR_V2 + " argument " + i + " must be an empty dict (hooks / metadata), got "
            + describe(a.get(i)));
      }
    }
    long last = offset;
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0 || stride[i] < 0) {
        throw error(REBUILD_TENSOR_V2 + " negative size or stride: " + Arrays.toString(shape) + " / "
            + Arrays.toString(stride));
      }
      try {
        count = Math.multiplyExact(count, shape[i]);
        if (shape[i] > 0) {
          last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
        }
      } catch (ArithmeticException e) {
        throw error(REBUILD_TENSOR_V2 + " size " + Arrays.toString(shape) + " overflows");
      }
    }
    if (count > 0 && last >= storage.elementCount()) {
      throw error("tensor of size " + Arrays.toString(shape) + ", stride " + Arrays.toString(stride)
          + " at offset " + offset + " reaches element " + last + " of storage '" + storage.key()
          + "', which holds " + storage.elementCount() + " elements");
    }
    return new TensorView(storage, offset, shape, stride);
  }

  private long[] longs(Object value, String what) throws CheckpointFormatException {
    if (!(value instanceof Tuple t)) {
      throw error(REBUILD_TENSOR_V2 + " " + what + " is " + describe(value) + ", not a tuple");
    }
    long[] out = new long[t.items().size()];
    for (int i = 0; i < out.length; i++) {
      if (!(t.items().get(i) instanceof Long v)) {
        throw error(REBUILD_TENSOR_V2 + " " + what + " holds " + describe(t.items().get(i)));
      }
      out[i] = v;
    }
    return out;
  }

  private Storage persistentLoad(Object pid) throws CheckpointFormatException {
    // ('storage', storage class, key, location, element count), as torch.save's persistent_id writes it
    if (!(pid instanceof Tuple t) || t.items().size() != 5 || !"storage".equals(t.items().get(0))) {
      throw error("persistent id " + describe(pid) + " is not ('storage', type, key, location, numel)");
    }
    List<Object> a = t.items();
    if (!(a.get(1) instanceof Global type) || !type.module().equals("torch")
        || !STORAGE_DTYPES.containsKey(type.name())) {
      throw error("persistent id names storage type " + describe(a.get(1)));
    }
    if (!(a.get(2) instanceof String key) || !(a.get(3) instanceof String location)
        || !(a.get(4) instanceof Long count) || count < 0) {
      throw error("persistent id for a " + type + " has a malformed key, location or size");
    }
    Storage storage = new Storage(key, STORAGE_DTYPES.get(type.name()), count, location);
    Storage known = storages.putIfAbsent(key, storage);
    if (known != null && !known.equals(storage)) {
      throw error("storage '" + key + "' is named twice with different type or size");
    }
    return storage;
  }

  private void build(Object state, Object target) throws CheckpointFormatException {
    if (!(target instanceof PickleDict d) || !d.ordered) {
      throw error("BUILD on " + describe(target) + " (only an OrderedDict's attributes are accepted)");
    }
    if (!(state instanceof PickleDict)) {
      throw error("BUILD on an OrderedDict with state " + describe(state));
    }
  }

  private Tuple tuple(List<Object> items) throws CheckpointFormatException {
    int depth = 0;
    for (Object item : items) {
      depth = Math.max(depth, depth(item));
    }
    // not List.copyOf: Python's None is a null item here
    return new Tuple(Collections.unmodifiableList(new ArrayList<>(items)), checkDepth(depth + 1));
  }

  private void append(PickleList list, Object item) throws CheckpointFormatException {
    list.items.add(item);
    list.depth = checkDepth(Math.max(list.depth, depth(item) + 1));
  }

  private void putAll(PickleDict dict, List<Object> items) throws CheckpointFormatException {
    if (items.size() % 2 != 0) {
      throw error("odd number of items for a dict");
    }
    for (int i = 0; i < items.size(); i += 2) {
      put(dict, items.get(i), items.get(i + 1));
    }
  }

  private void put(PickleDict dict, Object key, Object value) throws CheckpointFormatException {
    boolean primitive = key == null || key instanceof String || key instanceof Long || key instanceof Boolean
        || key instanceof Double || key instanceof BigInteger;
    if (!primitive) {
      throw error("dict key of type " + describe(key) + " (only str, int, float, bool, None keys are accepted)");
    }
    dict.items.put(key, value);
    dict.depth = checkDepth(Math.max(dict.depth, depth(value) + 1));
  }

  private int checkDepth(int depth) throws CheckpointFormatException {
    if (depth > limits.maxNestingDepth()) {
      throw error("containers nested deeper than the limit " + limits.maxNestingDepth());
    }
    return depth;
  }

  private static int depth(Object value) {
    if (value instanceof Tuple t) {
      return t.depth();
    } else if (value instanceof PickleList l) {
      return l.depth;
    } else if (value instanceof PickleDict d) {
      return d.depth;
    }
    return 0;
  }

  private PickleList listOnTop() throws CheckpointFormatException {
    if (!(peek() instanceof PickleList list)) {
      throw error("APPEND to " + describe(peek()) + ", not a list");
    }
    return list;
  }

  private PickleDict dictOnTop() throws CheckpointFormatException {
    if (!(peek() instanceof PickleDict dict)) {
      throw error("SETITEM on " + describe(peek()) + ", not a dict");
    }
    return dict;
  }

  private void memoize(long index) throws CheckpointFormatException {
    if (memo.size() >= limits.maxMemoEntries() && !memo.containsKey(index)) {
      throw error("memo grows past the limit " + limits.maxMemoEntries());
    }
    memo.put(index, peek());
  }

  private Object recall(long index) throws CheckpointFormatException {
    if (!memo.containsKey(index)) {
      throw error("memo index " + index + " was never stored");
    }
    return memo.get(index);
  }

  private void push(Object value) throws CheckpointFormatException {
    if (stack.size() >= limits.maxStackSize()) {
      throw error("stack grows past the limit " + limits.maxStackSize());
    }
    stack.add(value);
  }

  private Object peek() throws CheckpointFormatException {
    int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
    if (stack.size() <= floor) {
      throw error("stack underflow");
    }
    return stack.get(stack.size() - 1);
  }

  private Object pop() throws CheckpointFormatException {
    peek();
    return stack.remove(stack.size() - 1);
  }

  private List<Object> popN(int n) throws CheckpointFormatException {
    int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
    if (stack.size() - n < floor) {
      throw error("stack underflow");
    }
    List<Object> top = new ArrayList<>(stack.subList(stack.size() - n, stack.size()));
    stack.subList(stack.size() - n, stack.size()).clear();
    return top;
  }

  private List<Object> popMark() throws CheckpointFormatException {
    if (marks.isEmpty()) {
      throw error("no MARK to pop to");
    }
    int mark = marks.remove(marks.size() - 1);
    List<Object> top = new ArrayList<>(stack.subList(mark, stack.size()));
    stack.subList(mark, stack.size()).clear();
    return top;
  }

  private int advance(int n) throws CheckpointFormatException {
    if (in.remaining() < n) {
      throw error("truncated (needs " + n + " more bytes)");
    }
    int at = in.position();
    in.position(at + n);
    return at;
  }

  private void skip(int n) throws CheckpointFormatException {
    advance(n);
  }

  private int u8() throws CheckpointFormatException {
    return in.get(advance(1)) & 0xFF;
  }

  private int u16() throws CheckpointFormatException {
    return in.getShort(advance(2)) & 0xFFFF;
  }

  private long u32() throws CheckpointFormatException {
    return in.getInt(advance(4)) & 0xFFFFFFFFL;
  }

  private long i32() throws CheckpointFormatException {
    return in.getInt(advance(4));
  }

  private long i64() throws CheckpointFormatException {
    return in.getLong(advance(8));
  }

  /** A declared byte length, checked against what is left before anything is allocated. */
  private int length(long declared) throws CheckpointFormatException {
    if (declared < 0 || declared > in.remaining()) {
      throw error("declares " + declared + " bytes but only " + in.remaining() + " remain (truncated?)");
    }
    return (int) declared;
  }

  private byte[] bytes(int n) throws CheckpointFormatException {
    byte[] out = new byte[n];
    in.get(advance(n), out);
    return out;
  }

  private String utf8(int n) throws CheckpointFormatException {
    return new String(bytes(n), StandardCharsets.UTF_8);
  }

  private String latin1(int n) throws CheckpointFormatException {
    return new String(bytes(n), StandardCharsets.ISO_8859_1);
  }

  private Object longValue(int n) throws CheckpointFormatException {
    byte[] le = bytes(n);
    if (n == 0) {
      return 0L;
    }
    byte[] be = new byte[n];
    for (int i = 0; i < n; i++) {
      be[i] = le[n - 1 - i];
    }
    BigInteger value = new BigInteger(be);
    return value.bitLength() < 64 ? (Object) value.longValue() : value;
  }

  private String line() throws CheckpointFormatException {
    int start = in.position();
    for (int i = start; i < in.limit() && i - start <= MAX_GLOBAL_NAME_BYTES; i++) {
      if (in.get(i) == '\n') {
        String s = new String(bytes(i - start), StandardCharsets.UTF_8);
        in.get();
        return s;
      }
    }
    throw error("GLOBAL name not terminated within " + MAX_GLOBAL_NAME_BYTES + " bytes");
  }

  private static String describe(Object value) {
    if (value == null) {
      return "None";
    } else if (value instanceof Global g) {
      return "global '" + g + "'";
    } else if (value instanceof Tuple t) {
      return "a tuple of " + t.items().size();
    } else if (value instanceof PickleList) {
      return "a list";
    } else if (value instanceof PickleDict d) {
      return d.ordered ? "an OrderedDict" : "a dict";
    } else if (value instanceof Storage) {
      return "a storage";
    } else if (value instanceof TensorView) {
      return "a tensor";
    } else if (value instanceof String s) {
      return "the str '" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
    }
    return "a " + value.getClass().getSimpleName();
  }

  private CheckpointFormatException error(String detail) {
    return new CheckpointFormatException(file, entry + " offset " + opcodeOffset + ": " + detail);
  }

  private static String opcodeName(int op) {
    String name =
        switch (op) {
          case 'i' -> "INST";
          case 'o' -> "OBJ";
          case 0x81 -> "NEWOBJ";
          case 0x92 -> "NEWOBJ_EX";
          case 'P' -> "PERSID";
          case 0x82 -> "EXT1";
          case 0x83 -> "EXT2";
          case 0x84 -> "EXT4";
          case 'I' -> "INT";
          case 'L' -> "LONG";
          case 'F' -> "FLOAT";
          case 'S' -> "STRING";
          case 'V' -> "UNICODE";
          case 'p' -> "PUT";
          case 'g' -> "GET";
          case 0x8f -> "EMPTY_SET";
          case 0x90 -> "ADDITEMS";
          case 0x91 -> "FROZENSET";
          case 0x96 -> "BYTEARRAY8";
          case 0x97 -> "NEXT_BUFFER";
          case 0x98 -> "READONLY_BUFFER";
          default -> "unknown";
        };
    String printable = op >= 0x20 && op < 0x7f ? " '" + (char) op + "'" : "";
    return name + " (0x" + Integer.toHexString(op) + printable + ")";
  }
}
