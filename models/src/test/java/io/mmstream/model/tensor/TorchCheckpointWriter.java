package io.mmstream.model.tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes torch.save-shaped archives for tests: a pickle assembled opcode by opcode (protocol 2, the
 * way torch emits a state dict) and raw storages, as stored zip entries under {@code archive/}.
 * Tests use it to build both valid checkpoints and hostile ones byte by byte.
 */
final class TorchCheckpointWriter {

  /** A pickle byte stream built opcode by opcode. */
  static final class Pickle {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Pickle op(int... bytes) {
      for (int b : bytes) {
        out.write(b);
      }
      return this;
    }

    Pickle raw(byte[] bytes) {
      out.writeBytes(bytes);
      return this;
    }

    Pickle proto() {
      return op(0x80, 2);
    }

    Pickle global(String module, String name) {
      op('c');
      out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
      return this;
    }

    Pickle str(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      op('X', b.length & 0xFF, (b.length >> 8) & 0xFF, (b.length >> 16) & 0xFF, b.length >>> 24);
      out.writeBytes(b);
      return this;
    }

    Pickle integer(long v) {
      if (v != (int) v) { // LONG1 with 8 bytes, as pickle writes ints beyond 32 bits
        op(0x8a, 8);
        for (int k = 0; k < 8; k++) {
          op((int) (v >>> (8 * k)) & 0xFF);
        }
        return this;
      }
      int i = (int) v;
      return op('J', i & 0xFF, (i >> 8) & 0xFF, (i >> 16) & 0xFF, i >>> 24);
    }

    Pickle ints(long... values) {
      op('(');
      for (long v : values) {
        integer(v);
      }
      return op('t');
    }

    Pickle emptyOrderedDict() {
      return global("collections", "OrderedDict").op(')', 'R');
    }

    /** {@code _rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())}. */
    Pickle tensor(String storageClass, String key, long numel, long offset, long[] shape, long[] stride) {
      global("torch._utils", "_rebuild_tensor_v2").op('(');
      op('(').str("storage").global("torch", storageClass).str(key).str("cpu").integer(numel).op('t', 'Q');
      integer(offset).ints(shape).ints(stride).op(0x89).emptyOrderedDict();
      return op('t', 'R');
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }

  private final Map<String, byte[]> entries = new LinkedHashMap<>();

  TorchCheckpointWriter pickle(Pickle pickle) {
    entries.put("archive/data.pkl", pickle.bytes());
    return this;
  }

  TorchCheckpointWriter storage(String key, byte[] bytes) {
    entries.put("archive/data/" + key, bytes);
    return this;
  }

  Path write(Path file) throws IOException {
    entries.putIfAbsent("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    try (OutputStream os = Files.newOutputStream(file);
        ZipOutputStream zip = new ZipOutputStream(os)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        ZipEntry entry = new ZipEntry(e.getKey());
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(e.getValue().length);
        CRC32 crc = new CRC32();
        crc.update(e.getValue());
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(e.getValue());
        zip.closeEntry();
      }
    }
    return file;
  }
}
