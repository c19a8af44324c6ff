package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.mmstream.image.PixelImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Zero-shot tagging with one CLIP model: each label's text embedding is the prompt ensemble of
 * openai's notebook (mean of the normalised template embeddings, renormalised), computed once per
 * label set and cached; images are scored by cosine similarity, and probabilities are the softmax
 * of {@code exp(logit_scale) * cosine} over the set's labels.
 */
public final class ClipZeroShotTagger implements AutoCloseable {
  /** One label's score for one image. */
  public record LabelScore(String label, float probability, float cosine) {}

  /** An image's top labels, best first, and its normalised embedding (for similarity search). */
  public record ImageTags(List<LabelScore> top, float[] embedding) {}

  private final ClipModel model;
  private final ClipTokenizer tokenizer;
  private final ClipImagePreprocessor preprocessor;
  private final NDManager manager;
  private final int textBatchSize;
  private final Map<LabelSet, NDArray> labelEmbeddings = new ConcurrentHashMap<>();

  /**
   * {@code textBatchSize} bounds how many prompts go through the text tower at once when a label
   * set's embeddings are first computed.
   */
  public ClipZeroShotTagger(ClipModel model, ClipTokenizer tokenizer, NDManager parent, int textBatchSize) {
    if (textBatchSize <= 0) {
      throw new IllegalArgumentException("textBatchSize must be positive");
    }
    this.model = model;
    this.tokenizer = tokenizer;
    this.preprocessor = new ClipImagePreprocessor(model.config().visionConfig().imageSize());
    this.manager = parent.newSubManager();
    this.textBatchSize = textBatchSize;
  }

  public ClipModel model() {
    return model;
  }

  /** The set's label embeddings [L, E], unit length; computed on first use, then cached. */
  public NDArray labelEmbeddings(LabelSet set) {
    return labelEmbeddings.computeIfAbsent(set, this::computeLabelEmbeddings);
  }

  private NDArray computeLabelEmbeddings(LabelSet set) {
    List<String> prompts = new ArrayList<>();
    for (String label : set.labels()) {
      prompts.addAll(set.prompts(label));
    }
    try (NDManager scope = manager.newSubManager()) {
      NDList chunks = new NDList();
      for (int from = 0; from < prompts.size(); from += textBatchSize) {
        List<String> chunk = prompts.subList(from, Math.min(prompts.size(), from + textBatchSize));
        chunks.add(model.encodeText(tokenizer.encode(chunk), scope));
      }
      NDArray perPrompt = ClipModel.normalize(NDArrays.concat(chunks));
      NDArray ensemble = perPrompt.reshape(set.labels().size(), set.templates().size(), -1).mean(new int[] {1});
      NDArray embeddings = ClipModel.normalize(ensemble);
      embeddings.attach(manager);
      return embeddings;
    }
  }

  /** Normalised image embeddings [N, E] of {@code images}, in one forward pass. */
  public float[][] embedImages(List<PixelImage> images) {
    try (NDManager scope = manager.newSubManager()) {
      NDArray embeddings = ClipModel.normalize(model.encodeImage(preprocessor.pixelValues(images, scope)));
      return rows(embeddings);
    }
  }

  /** The top {@code topK} labels of {@code set} for each image, all images in one forward pass. */
  public List<ImageTags> tag(List<PixelImage> images, LabelSet set, int topK) {
    if (topK <= 0) {
      throw new IllegalArgumentException("topK must be positive");
    }
    NDArray labels = labelEmbeddings(set);
    try (NDManager scope = manager.newSubManager();
        NDArray labelColumns = labels.transpose()) {
      NDArray embeddings = ClipModel.normalize(model.encodeImage(preprocessor.pixelValues(images, scope)));
      NDArray cosines = embeddings.matMul(labelColumns);
      NDArray probabilities = cosines.mul(model.logitScaleExp()).softmax(-1);
      float[][] embeddingRows = rows(embeddings);
      float[][] cosineRows = rows(cosines);
      float[][] probabilityRows = rows(probabilities);
      List<ImageTags> tags = new ArrayList<>(images.size());
      for (int i = 0; i < images.size(); i++) {
        tags.add(new ImageTags(top(set, cosineRows[i], probabilityRows[i], topK), embeddingRows[i]));
      }
      return tags;
    }
  }

  private static List<LabelScore> top(LabelSet set, float[] cosines, float[] probabilities, int topK) {
    Integer[] order = new Integer[cosines.length];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> cosines[i]).reversed());
    List<LabelScore> top = new ArrayList<>();
    for (int r = 0; r < Math.min(topK, order.length); r++) {
      int i = order[r];
      top.add(new LabelScore(set.labels().get(i), probabilities[i], cosines[i]));
    }
    return top;
  }

  private static float[][] rows(NDArray matrix) {
    int n = (int) matrix.getShape().get(0);
    float[] flat = matrix.toFloatArray();
    int width = flat.length / n;
    float[][] rows = new float[n][];
    for (int i = 0; i < n; i++) {
      rows[i] = Arrays.copyOfRange(flat, i * width, (i + 1) * width);
    }
    return rows;
  }

  /** Frees the cached label embeddings; the model and tokenizer belong to the caller. */
  @Override
  public void close() {
    labelEmbeddings.clear();
    manager.close();
  }
}
