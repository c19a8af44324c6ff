package io.mmstream.model.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Several checkpoints loaded into one model, each under a key prefix, as originals do with a row of
 * {@code load_state_dict(strict=False)} calls (MiniGPT-4: the ViT file under {@code visual_encoder.}, the Q-Former
 * file and the projection file at the top level, the language model under {@code llama_model.}). A key present in
 * several parts comes from the last one, as the last {@code load_state_dict} wins.
 */
public final class MergedWeightStore implements WeightStore {

  /** One checkpoint and the prefix its keys take in the model. */
  public record Part(String prefix, WeightStore store) {}

  private final List<Part> parts;
  private final NDManager manager;
  private final DataType floatType;

  public MergedWeightStore(List<Part> parts) {
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("no checkpoints to merge");
    }
    this.parts = List.copyOf(parts);
    this.manager = parts.get(0).store().manager();
    this.floatType = parts.get(0).store().floatType();
  }

  @Override
  public NDManager manager() {
    return manager;
  }

  @Override
  public DataType floatType() {
    return floatType;
  }

  private Optional<Part> owner(String key) {
    for (int i = parts.size() - 1; i >= 0; i--) {
      Part part = parts.get(i);
      if (key.startsWith(part.prefix()) && part.store().contains(key.substring(part.prefix().length()))) {
        return Optional.of(part);
      }
    }
    return Optional.empty();
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    return owner(key).flatMap(p -> p.store().load(key.substring(p.prefix().length()), expectedShape));
  }

  @Override
  public boolean contains(String key) {
    return owner(key).isPresent();
  }

  @Override
  public Set<String> unusedKeys() {
    Set<String> unused = new TreeSet<>();
    for (Part part : parts) {
      part.store().unusedKeys().forEach(k -> unused.add(part.prefix() + k));
    }
    return unused;
  }

  @Override
  public String describe() {
    List<String> names = new ArrayList<>();
    parts.forEach(p -> names.add(p.store().describe()));
    return String.join(" + ", names);
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (Part part : parts) {
      try {
        part.store().close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
