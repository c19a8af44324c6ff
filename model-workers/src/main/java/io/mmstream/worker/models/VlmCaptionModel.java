package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.ModelInfo;
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
 * Captioning with a generative model directory opened through {@link VisionLanguageModels} (BLIP-2 OPT/T5): a task's
 * prompt, or the empty prompt LAVIS captions with; one batched generation per batch. Beams and length are the
 * caption settings when set, else the model's original defaults.
 */
final class VlmCaptionModel implements TaskModel<VlmCaptionModel.Input> {
  record Input(PixelImage image, String prompt) {}

  private final NDManager manager;
  private final VisionLanguageModel model;
  private final DecodingOptions decoding;
  private final ModelInfo info;

  private VlmCaptionModel(NDManager manager, VisionLanguageModel model, Settings settings, ModelInfo info) {
    this.manager = manager;
    this.model = model;
    this.decoding = new DecodingOptions(
        settings.raw(ModelSettings.CAPTION_MAX_LENGTH.key()).isPresent() ? settings.get(ModelSettings.CAPTION_MAX_LENGTH) : null,
        settings.raw(ModelSettings.CAPTION_NUM_BEAMS.key()).isPresent() ? settings.get(ModelSettings.CAPTION_NUM_BEAMS) : null,
        false, null);
    this.info = info;
  }

  static VlmCaptionModel load(ModelSource source, Device device, Settings settings) throws IOException {
    return TaskModelSupport.loadWithManager(device, manager -> {
      VisionLanguageModel model = VisionLanguageModels.load(source.directory(), manager);
      return new VlmCaptionModel(manager, model, settings, ModelIdentity.of(model.modelType().replace('/', '-'), source));
    });
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Input prepare(TaskRequest request, PixelImage image) throws TaskRejectedException {
    CaptionTask task = request.getCaption();
    return new Input(image, task == null || task.getPrompt() == null ? "" : task.getPrompt());
  }

  @Override
  public List<TaskOutputs> runBatch(List<Input> batch) {
    List<GeneratedText> captions = model.generate(
        batch.stream().map(i -> GenerationRequest.of(i.image(), i.prompt())).toList(), decoding);
    List<TaskOutputs> outputs = new ArrayList<>(batch.size());
    for (GeneratedText caption : captions) {
      outputs.add(new TaskOutputs(List.of(), null, caption.text(), List.of()));
    }
    return outputs;
  }

  @Override
  public void warmUp(int maxBatchSize) {
    PixelImage blank = new PixelImage(32, 32, 3, new byte[32 * 32 * 3]);
    TaskModelSupport.warmUp(this, maxBatchSize, () -> new Input(blank, ""));
  }

  @Override
  public void close() {
    TaskModelSupport.closeWithManager(model::close, manager);
  }
}
