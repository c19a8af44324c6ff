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
import io.mmstream.model.generation.VisualQuestionAnswering;
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
 * VQA with a generative model directory that answers questions in its original prompt format (BLIP-2's
 * "Question: {} Answer:", InstructBLIP's bare instruction): every question of every task in the batch is one request
 * of one batched generation, and gets the model's P(yes) / (P(yes) + P(no)). Answers are open-ended: a task's
 * candidates are not scored (these models have no rank mode).
 */
final class VlmVqaModel implements TaskModel<QuestionsAboutImage> {

  private final NDManager manager;
  private final VisionLanguageModel model;
  private final VisualQuestionAnswering vqa;
  private final DecodingOptions decoding;
  private final ModelInfo info;

  private VlmVqaModel(NDManager manager, VisionLanguageModel model, Settings settings, ModelInfo info) {
    if (!(model instanceof VisualQuestionAnswering answering)) {
      throw new IllegalArgumentException(model.modelType() + " has no VQA prompt format; vqa workers cannot serve it");
    }
    this.manager = manager;
    this.model = model;
    this.vqa = answering;
    this.decoding = new DecodingOptions(settings.get(ModelSettings.VQA_MAX_LENGTH),
        settings.raw(ModelSettings.VQA_NUM_BEAMS.key()).isPresent() ? settings.get(ModelSettings.VQA_NUM_BEAMS) : null,
        false, null);
    this.info = info;
  }

  static VlmVqaModel load(ModelSource source, Device device, Settings settings) throws IOException {
    return TaskModelSupport.loadWithManager(device, manager -> {
      VisionLanguageModel model = VisionLanguageModels.load(source.directory(), manager);
      try {
        return new VlmVqaModel(manager, model, settings, ModelIdentity.of(model.modelType().replace('/', '-'), source));
      } catch (RuntimeException e) {
        model.close();
        throw e;
      }
    });
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public QuestionsAboutImage prepare(TaskRequest request, PixelImage image) throws TaskRejectedException {
    return new QuestionsAboutImage(image, TaskModelSupport.requireQuestions(request));
  }

  @Override
  public List<TaskOutputs> runBatch(List<QuestionsAboutImage> batch) {
    List<GenerationRequest> requests = new ArrayList<>();
    for (QuestionsAboutImage input : batch) {
      input.questions().forEach(q -> requests.add(GenerationRequest.of(input.image(), vqa.questionPrompt(q))));
    }
    List<GeneratedText> answers = model.generate(requests, decoding);
    double[] yes = vqa.yesProbabilities(requests);
    return QuestionsAboutImage.outputs(batch, row -> answers.get(row).text(), yes);
  }

  @Override
  public void warmUp(int maxBatchSize) {
    TaskModelSupport.warmUp(this, maxBatchSize, QuestionsAboutImage::warmUpInput);
  }

  @Override
  public void close() {
    TaskModelSupport.closeWithManager(model::close, manager);
  }
}
