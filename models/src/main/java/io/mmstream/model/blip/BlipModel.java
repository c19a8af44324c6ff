package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BiFunction;

/**
 * What both BLIP heads share: the modules a checkpoint of one task holds, the weights' lifetime and the
 * load plumbing. Modules load in checkpoint order (vision, question encoder, decoder, head), which
 * random presets depend on.
 */
public abstract sealed class BlipModel implements AutoCloseable
    permits BlipForConditionalGeneration, BlipForQuestionAnswering {
  final BlipConfig config;
  final WeightStore store;
  final BlipVisionModel vision;
  /** Present for {@link BlipConfig.Task#QUESTION_ANSWERING} only. */
  final BlipTextModel questionEncoder;
  final BlipTextModel decoder;
  final BlipLmHead head;

  BlipModel(BlipConfig config, WeightStore store, BlipConfig.Task task) {
    this.config = config;
    this.store = store;
    Weights w = new Weights(store);
    BlipTextConfig text = config.text();
    this.vision = BlipVisionModel.load(w.sub("vision_model"), config.vision());
    boolean answersQuestions = task == BlipConfig.Task.QUESTION_ANSWERING;
    this.questionEncoder = answersQuestions
        ? BlipTextModel.load(w.sub("text_encoder"), text, text.encoderHiddenSize())
        : null;
    // The VQA answer decoder reads question states, whose width is the text hidden size.
    int decoderCrossWidth = answersQuestions ? text.hiddenSize() : text.encoderHiddenSize();
    this.decoder = BlipTextModel.load(w.sub("text_decoder").sub("bert"), text, decoderCrossWidth);
    this.head = BlipLmHead.load(
        w.sub("text_decoder").sub("cls").sub("predictions"), text, decoder.embeddings().wordEmbeddings());
    store.requireAllUsed(BlipWeights.IGNORABLE_KEYS);
  }

  public BlipConfig config() {
    return config;
  }

  /** The manager that holds the weights; per-call work belongs in its sub-managers. */
  public NDManager manager() {
    return store.manager();
  }

  public BlipVisionModel vision() {
    return vision;
  }

  /** {@code pixelValues [B, 3, H, W]} to the image states {@code [B, S, C]} the text side reads. */
  public NDArray encodeImages(NDArray pixelValues) {
    return vision.forward(pixelValues);
  }

  @Override
  public void close() throws IOException {
    store.close();
  }

  /**
   * Loads {@code config.json} and the safetensors of {@code modelDirectory}, refusing a checkpoint of
   * another task; {@code taskName} names the expected one in that error.
   */
  static <M> M open(
      Path modelDirectory, NDManager manager, BlipConfig.Task task, String taskName,
      BiFunction<BlipConfig, WeightStore, M> fromStore) throws IOException {
    BlipConfig config = BlipConfig.load(modelDirectory);
    if (config.task() != task) {
      throw new IOException(modelDirectory + ": a " + config.task().architecture() + " checkpoint, not a " + taskName + " one");
    }
    return fromStore.apply(config, BlipWeights.open(modelDirectory, manager));
  }

  /** Builds a model from {@code store}, closing the store when that fails. */
  static <M> M build(BlipConfig config, WeightStore store, BiFunction<BlipConfig, WeightStore, M> constructor) {
    try {
      return constructor.apply(config, store);
    } catch (RuntimeException e) {
      throw BlipWeights.closeOnFailure(store, e);
    }
  }
}
