package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PixelImage;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Zero-shot tagging with one CLIP model: each label's text embedding is the prompt ensemble of
 * openai's notebook (mean of the normalised template embeddings, renormalised), computed once per
 * label set and cached; images are scored by cosine similarity, and probabilities are the softmax
 * of {@code exp(logit_scale) * cosine} over the set's labels.
 *
 * <p>At most {@code maxCachedSets} label sets keep their embeddings (least recently used evicted and
 * freed), so a stream of ad-hoc label sets cannot grow the cache without bound. The cache is
 * guarded for concurrent callers; an evicted set's array is freed, so callers that tag on several
 * threads at once should size the cache above the number of sets they use concurrently.
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
  private final Map<LabelSet, NDArray> labelEmbeddings;

  /**
   * {@code textBatchSize} bounds how many prompts go through the text tower at once when a label
   * set's embeddings are first computed.
   */
  public ClipZeroShotTagger(ClipModel model, ClipTokenizer tokenizer, NDManager parent, int textBatchSize) {
    this(model, tokenizer, parent, textBatchSize, DEFAULT_MAX_CACHED_SETS);
  }

  public ClipZeroShotTagger(
      ClipModel model, ClipTokenizer tokenizer, NDManager parent, int textBatchSize, int maxCachedSets) {
    if (textBatchSize <= 0 || maxCachedSets <= 0) {
      throw new IllegalArgumentException("textBatchSize and maxCachedSets must be positive");
    }
    this.model = model;
    this.tokenizer = tokenizer;
    this.preprocessor = new ClipImagePreprocessor(model.config().visionConfig().imageSize());
    this.manager = parent.newSubManager();
    this.textBatchSize = textBatchSize;
    this.labelEmbeddings = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<LabelSet, NDArray> eldest) {
        if (size() <= maxCachedSets) {
          return false;
        }
        eldest.getValue().close();
        return true;
      }
    };
  }

  /** Label sets cached by the short constructor. */
  public static final int DEFAULT_MAX_CACHED_SETS = 256;

  public ClipModel model() {
    return model;
  }

  /** The set's label embeddings [L, E], unit length; computed on first use, then cached. */
  public NDArray labelEmbeddings(LabelSet set) {
    synchronized (labelEmbeddings) {
      NDArray cached = labelEmbeddings.get(set);
      if (cached == null) {
        cached = computeLabelEmbeddings(set);
        labelEmbeddings.put(set, cached);
      }
      return cached;
    }
  }

  /** Label sets whose embeddings are cached now. */
  public int cachedLabelSets() {
    synchronized (labelEmbeddings) {
      return labelEmbeddings.size();
    }
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
    List<float[]> pixelValues = new ArrayList<>(images.size());
    for (PixelImage image : images) {
      pixelValues.add(preprocessor.pixelValues(image));
    }
    int[] topKs = new int[images.size()];
    Arrays.fill(topKs, topK);
    return tag(pixelValues, Collections.nCopies(images.size(), set), topKs);
  }

  /**
   * Tags already preprocessed images ({@link ClipImagePreprocessor#pixelValues(PixelImage)}), each
   * against its own label set and top-k: one image forward pass for all of them, then one scoring
   * per distinct label set.
   */
  public List<ImageTags> tag(List<float[]> pixelValues, List<LabelSet> sets, int[] topKs) {
    int n = pixelValues.size();
    if (sets.size() != n || topKs.length != n) {
      throw new IllegalArgumentException("need one label set and one top-k per image");
    }
    for (int topK : topKs) {
      if (topK <= 0) {
        throw new IllegalArgumentException("topK must be positive");
      }
    }
    Map<LabelSet, List<Integer>> imagesPerSet = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      imagesPerSet.computeIfAbsent(sets.get(i), s -> new ArrayList<>()).add(i);
    }
    ImageTags[] tags = new ImageTags[n];
    try (NDManager scope = manager.newSubManager()) {
      int size = preprocessor.size();
      FloatBuffer flat = FloatBuffer.allocate(n * 3 * size * size);
      pixelValues.forEach(flat::put);
      NDArray embeddings =
          ClipModel.normalize(model.encodeImage(scope.create(flat.flip(), new Shape(n, 3, size, size))));
      float[][] embeddingRows = rows(embeddings);
      for (Map.Entry<LabelSet, List<Integer>> entry : imagesPerSet.entrySet()) {
        LabelSet set = entry.getKey();
        List<Integer> members = entry.getValue();
        NDArray labelColumns = labelEmbeddings(set).transpose();
        labelColumns.attach(scope);
        NDArray rowsOfSet = members.size() == n
            ? embeddings
            : embeddings.get(scope.create(members.stream().mapToLong(Integer::longValue).toArray()));
        NDArray cosines = rowsOfSet.matMul(labelColumns);
        NDArray probabilities = cosines.mul(model.logitScaleExp()).softmax(-1);
        float[][] cosineRows = rows(cosines);
        float[][] probabilityRows = rows(probabilities);
        for (int r = 0; r < members.size(); r++) {
          int i = members.get(r);
          tags[i] = new ImageTags(top(set, cosineRows[r], probabilityRows[r], topKs[i]), embeddingRows[i]);
        }
      }
    }
    return List.of(tags);
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
    synchronized (labelEmbeddings) {
      labelEmbeddings.clear();
    }
    manager.close();
  }
}
