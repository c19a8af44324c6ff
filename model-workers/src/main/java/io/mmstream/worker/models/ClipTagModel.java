package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.LabelSets;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipConfig;
import io.mmstream.model.clip.ClipImagePreprocessor;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.clip.ClipTokenizer;
import io.mmstream.model.clip.ClipZeroShotTagger;
import io.mmstream.model.clip.LabelSet;
import io.mmstream.schema.LabelScore;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.worker.ModelSettings;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.TaskModel;
import io.mmstream.worker.TaskRejectedException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP zero-shot tagging for TAG tasks: CLIP preprocessing on the CPU pool, then one image forward
 * per batch and the {@link ClipZeroShotTagger}'s scoring against each task's label set (the prompt
 * ensemble embeddings of a (labels, templates) pair are computed once and cached).
 */
final class ClipTagModel implements TaskModel<ClipTagModel.Input> {
  /** Cache entries are keyed by labels and templates only, so one name for every set. */
  private static final String SET_NAME = "task";
  private static final long PRESET_SEED = 42;

  record Input(float[] pixelValues, LabelSet labels, int topK) {}

  private final NDManager manager;
  private final ClipModel model;
  private final ClipTokenizer tokenizer;
  private final ClipZeroShotTagger tagger;
  private final ClipImagePreprocessor preprocessor;
  private final ModelInfo info;

  private ClipTagModel(NDManager manager, ClipModel model, ClipTokenizer tokenizer, Settings settings, ModelInfo info) {
    this.manager = manager;
    this.model = model;
    this.tokenizer = tokenizer;
    this.tagger = new ClipZeroShotTagger(model, tokenizer, manager, settings.get(ModelSettings.CLIP_TEXT_BATCH),
        settings.get(ModelSettings.CLIP_LABEL_SET_CACHE));
    this.preprocessor = new ClipImagePreprocessor(model.config().visionConfig().imageSize());
    this.info = info;
  }

  static ClipTagModel load(ModelSource source, Device device, Settings settings) throws IOException {
    NDManager manager = NDManager.newBaseManager(device);
    ClipModel model = null;
    try {
      model = source.directory() != null
          ? ClipModel.load(source.directory(), manager)
          : ClipModel.random(ClipConfig.preset(source.preset()), manager, PRESET_SEED);
      ClipTokenizer tokenizer =
          ClipTokenizer.load(source.tokenizerFiles(), model.config().textConfig().maxPositionEmbeddings());
      return new ClipTagModel(manager, model, tokenizer, settings, ModelIdentity.of("clip", source));
    } catch (IOException | RuntimeException e) {
      if (model != null) {
        model.close();
      }
      manager.close();
      throw e;
    }
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Input prepare(TaskRequest request, PixelImage image) throws TaskRejectedException {
    TagTask tag = request.getTag();
    if (tag == null || tag.getLabels().isEmpty()) {
      throw new TaskRejectedException("validate", "NO_LABELS", "the tag task has no labels");
    }
    if (tag.getTopK() <= 0) {
      throw new TaskRejectedException("validate", "INVALID_TOP_K", "topK must be positive, got " + tag.getTopK());
    }
    List<String> templates = tag.getTemplates().isEmpty() ? LabelSets.DEFAULT_TEMPLATES : tag.getTemplates();
    LabelSet set;
    try {
      set = new LabelSet(SET_NAME, tag.getLabels(), templates);
    } catch (IllegalArgumentException e) {
      throw new TaskRejectedException("validate", "INVALID_LABEL_SET", e.getMessage(), e);
    }
    return new Input(preprocessor.pixelValues(image), set, tag.getTopK());
  }

  @Override
  public List<TaskOutputs> runBatch(List<Input> batch) {
    List<ClipZeroShotTagger.ImageTags> tags = tagger.tag(
        batch.stream().map(Input::pixelValues).toList(),
        batch.stream().map(Input::labels).toList(),
        batch.stream().mapToInt(Input::topK).toArray());
    List<TaskOutputs> outputs = new ArrayList<>(tags.size());
    for (ClipZeroShotTagger.ImageTags t : tags) {
      List<LabelScore> labels = new ArrayList<>(t.top().size());
      for (ClipZeroShotTagger.LabelScore s : t.top()) {
        labels.add(new LabelScore(s.label(), s.probability(), s.cosine()));
      }
      List<Float> embedding = new ArrayList<>(t.embedding().length);
      for (float v : t.embedding()) {
        embedding.add(v);
      }
      outputs.add(new TaskOutputs(labels, embedding, null, List.of()));
    }
    return outputs;
  }

  @Override
  public void warmUp(int maxBatchSize) {
    int size = preprocessor.size();
    LabelSet set = new LabelSet(SET_NAME, List.of("warm-up"), LabelSets.DEFAULT_TEMPLATES);
    TaskModelSupport.warmUp(this, maxBatchSize, () -> new Input(new float[3 * size * size], set, 1));
  }

  @Override
  public void close() {
    tagger.close();
    tokenizer.close();
    model.close();
    manager.close();
  }
}
