package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * CLIP (openai's {@code clip.model.CLIP} on a Hugging Face checkpoint): the two towers, their
 * projections into the shared embedding space, and the logit scale from the checkpoint.
 *
 * <p>Each encode call runs in a sub-manager of its input's manager, so intermediate arrays are freed
 * when it returns; only the result stays, attached to the input's manager. The model's own arrays
 * live in a manager of their own, released by {@link #close()}.
 */
public final class ClipModel implements AutoCloseable {
  /** Checkpoint buffers that are read when present but not required. */
  private static final String OPTIONAL_KEYS = ".*\\.embeddings\\.position_ids";

  private final ClipConfig config;
  private final ClipTextTransformer textModel;
  private final ClipVisionTransformer visionModel;
  private final Linear visualProjection;
  private final Linear textProjection;
  private final float logitScale;
  private final NDManager manager;
  private final WeightStore store;

  private ClipModel(ClipConfig config, Weights w, NDManager manager) {
    this.config = config;
    this.manager = manager;
    this.store = w.store();
    this.textModel = ClipTextTransformer.load(w.sub("text_model"), config.textConfig());
    this.visionModel = ClipVisionTransformer.load(w.sub("vision_model"), config.visionConfig());
    this.visualProjection =
        Linear.load(w.sub("visual_projection"), config.visionConfig().hiddenSize(), config.projectionDim(), false);
    this.textProjection =
        Linear.load(w.sub("text_projection"), config.textConfig().hiddenSize(), config.projectionDim(), false);
    try (NDArray scale = w.get("logit_scale")) {
      this.logitScale = scale.toType(DataType.FLOAT32, false).getFloat();
    }
  }

  /**
   * Loads {@code dir/config.json} and the checkpoint ({@code model.safetensors}, or shards listed in
   * {@code model.safetensors.index.json}; F32/F16/BF16), computing in F32. Fails naming the key on a
   * missing, mis-shaped or unexpected tensor.
   */
  public static ClipModel load(Path dir, NDManager parent) throws IOException {
    return load(dir, ClipConfig.read(dir), parent);
  }

  private static ClipModel load(Path dir, ClipConfig config, NDManager parent) throws IOException {
    NDManager manager = parent.newSubManager();
    WeightStore store = null;
    try {
      store = CheckpointWeightStore.open(dir, manager, DataType.FLOAT32, false);
      ClipModel model = new ClipModel(config, new Weights(store), manager);
      store.requireAllUsed(OPTIONAL_KEYS);
      return model;
    } catch (IOException | RuntimeException e) {
      if (store != null) {
        store.close();
      }
      manager.close();
      throw e;
    }
  }

  /** A model of {@code config}'s shapes with N(0, 0.02) weights: benchmarks without a download. */
  public static ClipModel random(ClipConfig config, NDManager parent, long seed) {
    NDManager manager = parent.newSubManager();
    try {
      return fromStore(config, new RandomWeightStore(manager, DataType.FLOAT32, seed, 0.02f));
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /**
   * A model over {@code store}'s tensors (parameters in training); {@link #close()} closes the store
   * and its manager.
   */
  public static ClipModel fromStore(ClipConfig config, WeightStore store) {
    return new ClipModel(config, new Weights(store), store.manager());
  }

  public ClipConfig config() {
    return config;
  }

  public ClipTextTransformer textModel() {
    return textModel;
  }

  public ClipVisionTransformer visionModel() {
    return visionModel;
  }

  /** {@code exp(logit_scale)}: the temperature of {@link #logits}. */
  public float logitScaleExp() {
    return (float) Math.exp(logitScale);
  }

  /** openai's {@code encode_image}: projected image features [B, E], not normalised. */
  public NDArray encodeImage(NDArray pixelValues) {
    NDManager caller = pixelValues.getManager();
    try (NDManager scope = caller.newSubManager()) {
      pixelValues.tempAttach(scope);
      NDArray features = visualProjection.forward(visionModel.forward(pixelValues));
      features.attach(caller);
      return features;
    }
  }

  /**
   * openai's {@code encode_text}: projected text features [B, E], not normalised. The batch is cut
   * after its longest text: under the causal mask later positions cannot change the pooled rows.
   */
  public NDArray encodeText(ClipTokenizer.Batch tokens, NDManager caller) {
    try (NDManager scope = caller.newSubManager()) {
      NDArray ids = tokens.toInputIds(scope, tokens.longestLength());
      NDArray features = encodeText(ids, tokens.eotIndices());
      features.attach(caller);
      return features;
    }
  }

  /**
   * Projected text features [B, E] for {@code inputIds} [B, L] pooled at {@code eotIndices}. The
   * features stay in {@code inputIds}' manager. Training calls this form: the ids must outlive the
   * backward pass, which reads them.
   */
  public NDArray encodeText(NDArray inputIds, int[] eotIndices) {
    NDManager caller = inputIds.getManager();
    try (NDManager scope = caller.newSubManager()) {
      inputIds.tempAttach(scope);
      NDArray features = textProjection.forward(textModel.forward(inputIds, eotIndices));
      features.attach(caller);
      return features;
    }
  }

  /** Row-wise L2 normalisation, {@code x / ||x||}, in {@code features}' manager. */
  public static NDArray normalize(NDArray features) {
    try (NDArray norm = features.norm(new int[] {-1}, true)) {
      return features.div(norm);
    }
  }

  /** {@code logits_per_image} [I, T] = exp(logit_scale) * normalize(image) @ normalize(text)^T. */
  public NDArray logits(NDArray imageFeatures, NDArray textFeatures) {
    NDManager caller = imageFeatures.getManager();
    try (NDManager scope = caller.newSubManager()) {
      scope.tempAttachAll(imageFeatures, textFeatures);
      NDArray logits =
          normalize(imageFeatures).mul(logitScaleExp()).matMul(normalize(textFeatures).transpose());
      logits.attach(caller);
      return logits;
    }
  }

  @Override
  public void close() {
    try {
      store.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      manager.close();
    }
  }
}
