package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipCaptioner;
import io.mmstream.model.blip.BlipConfig;
import io.mmstream.model.blip.BlipForConditionalGeneration;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.blip.BlipTokenizer;
import io.mmstream.model.generation.GenerationConfig;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * BLIP captioning for CAPTION tasks: BLIP preprocessing on the CPU pool, then one batched generation
 * per distinct prompt in the batch (a task's prompt; null: the model's "a picture of ", "":
 * unconditional). Beams and lengths are worker settings with BLIP's defaults.
 */
final class BlipCaptionModel implements TaskModel<BlipCaptionModel.Input> {
  private static final long PRESET_SEED = 42;

  record Input(float[] pixelValues, String prompt) {}

  private final BlipCaptioner captioner;
  private final BlipImagePreprocessor preprocessor;
  private final BlipCaptioner.Options options;
  private final ModelInfo info;
  private final NDManager manager;

  private BlipCaptionModel(NDManager manager, BlipCaptioner captioner, Settings settings, ModelInfo info) {
    this.manager = manager;
    this.captioner = captioner;
    this.preprocessor = captioner.preprocessor();
    BlipCaptioner.Options original = captioner.defaultOptions();
    GenerationConfig generation = ModelSettings.decoding(original.generation(), settings,
        ModelSettings.CAPTION_NUM_BEAMS, ModelSettings.CAPTION_MAX_LENGTH, ModelSettings.CAPTION_MIN_LENGTH);
    this.options = original.withGeneration(generation);
    this.info = info;
  }

  static BlipCaptionModel load(ModelSource source, Device device, Settings settings) throws IOException {
    return TaskModelSupport.loadWithManager(device, manager -> {
      BlipCaptioner captioner;
      if (source.directory() != null) {
        captioner = BlipCaptioner.load(source.directory(), manager);
      } else {
        BlipConfig config = preset(source.preset());
        BlipForConditionalGeneration model = BlipForConditionalGeneration.random(config, manager, PRESET_SEED);
        captioner = new BlipCaptioner(model, BlipTokenizer.open(source.tokenizerFiles(), config.text()),
            BlipImagePreprocessor.forVision(config.vision()));
      }
      return new BlipCaptionModel(manager, captioner, settings, ModelIdentity.of("blip-caption", source));
    });
  }

  private static BlipConfig preset(String name) {
    if (!name.equals("blip-base")) {
      throw new IllegalArgumentException("unknown caption preset '" + name + "' (blip-base)");
    }
    return BlipConfig.captioningBase();
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Input prepare(TaskRequest request, PixelImage image) throws TaskRejectedException {
    CaptionTask task = request.getCaption();
    String prompt = task == null || task.getPrompt() == null ? options.prompt() : task.getPrompt();
    return new Input(preprocessor.toChw(image), prompt);
  }

  @Override
  public List<TaskOutputs> runBatch(List<Input> batch) {
    Map<String, List<Integer>> byPrompt = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      byPrompt.computeIfAbsent(batch.get(i).prompt(), p -> new ArrayList<>()).add(i);
    }
    TaskOutputs[] outputs = new TaskOutputs[batch.size()];
    byPrompt.forEach((prompt, members) -> {
      BlipCaptioner.Options withPrompt = new BlipCaptioner.Options(
          prompt, options.generation(), options.maxNewTokens(), options.useKvCache(), false);
      List<BlipCaptioner.Caption> captions =
          captioner.captionPixelValues(members.stream().map(i -> batch.get(i).pixelValues()).toList(), withPrompt);
      for (int k = 0; k < members.size(); k++) {
        outputs[members.get(k)] = new TaskOutputs(List.of(), null, captions.get(k).text(), List.of());
      }
    });
    return List.of(outputs);
  }

  @Override
  public void warmUp(int maxBatchSize) {
    float[] blank = new float[3 * preprocessor.width() * preprocessor.height()];
    TaskModelSupport.warmUp(this, maxBatchSize, () -> new Input(blank, options.prompt()));
  }

  @Override
  public void close() {
    TaskModelSupport.closeWithManager(captioner::close, manager);
  }
}
