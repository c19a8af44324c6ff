package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.model.instructblip.InstructAnswer;
import io.mmstream.model.instructblip.InstructBlipAnswerer;
import io.mmstream.model.instructblip.InstructBlipOptions;
import io.mmstream.model.instructblip.InstructGeneration;
import io.mmstream.model.instructblip.InstructRequest;
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
 * InstructBLIP for VQA tasks: every question of every task in the batch is one instruction of one
 * batched generation (each image through the vision tower once), and every question gets
 * P(yes) / (P(yes) + P(no)) from {@link InstructBlipAnswerer#yesProbabilities}. Answers are
 * open-ended: InstructBLIP has no rank mode, so a task's candidates are not scored.
 */
final class InstructVqaModel implements TaskModel<QuestionsAboutImage> {
  private final NDManager manager;
  private final InstructBlipAnswerer answerer;
  private final InstructGeneration generation;
  private final ModelInfo info;

  private InstructVqaModel(NDManager manager, InstructBlipAnswerer answerer, Settings settings, ModelInfo info) {
    this.manager = manager;
    this.answerer = answerer;
    this.generation = new InstructGeneration(
        settings.get(ModelSettings.INSTRUCT_MAX_NEW_TOKENS),
        settings.get(ModelSettings.INSTRUCT_MIN_NEW_TOKENS),
        settings.get(ModelSettings.INSTRUCT_NUM_BEAMS),
        settings.get(ModelSettings.INSTRUCT_REPETITION_PENALTY).floatValue(),
        1f,
        true,
        false);
    this.info = info;
  }

  static InstructVqaModel load(ModelSource source, Device device, Settings settings) throws IOException {
    if (source.directory() == null) {
      throw new IllegalArgumentException("instruct workers need a checkpoint directory; there is no random-weight preset");
    }
    return TaskModelSupport.loadWithManager(device, manager -> {
      InstructBlipAnswerer answerer = InstructBlipAnswerer.load(source.directory(), manager, InstructBlipOptions.defaults());
      return new InstructVqaModel(manager, answerer, settings, ModelIdentity.of("instructblip", source));
    });
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public QuestionsAboutImage prepare(TaskRequest request, PixelImage image) throws TaskRejectedException {
    // The decoded image stays on the host; the InstructBLIP processor resizes it on the model thread.
    return new QuestionsAboutImage(image, TaskModelSupport.requireQuestions(request));
  }

  @Override
  public List<TaskOutputs> runBatch(List<QuestionsAboutImage> batch) {
    List<InstructRequest> requests = new ArrayList<>();
    for (QuestionsAboutImage input : batch) {
      // One PixelImage object per task: the answerer encodes each distinct image once.
      input.questions().forEach(q -> requests.add(new InstructRequest(input.image(), q)));
    }
    List<InstructAnswer> answers = answerer.answer(requests, generation);
    double[] yes = answerer.yesProbabilities(requests);
    return QuestionsAboutImage.outputs(batch, row -> answers.get(row).text(), yes);
  }

  @Override
  public void warmUp(int maxBatchSize) {
    TaskModelSupport.warmUp(this, maxBatchSize, QuestionsAboutImage::warmUpInput);
  }

  @Override
  public void close() {
    TaskModelSupport.closeWithManager(answerer::close, manager);
  }
}
