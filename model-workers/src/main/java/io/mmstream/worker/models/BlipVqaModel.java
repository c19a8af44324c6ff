package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipConfig;
import io.mmstream.model.blip.BlipForQuestionAnswering;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.blip.BlipQuestionAnswerer;
import io.mmstream.model.blip.BlipTokenizer;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.schema.Answer;
import io.mmstream.schema.CandidateScore;
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
 * BLIP visual question answering for VQA tasks: every question of a task is answered (generated, or
 * the best candidate in rank mode when the task lists candidates, which then carry their scores),
 * and every question gets P(yes) / (P(yes) + P(no)) from rank mode over yes/no, which moderation
 * policies read. The images of a batch share one vision pass ({@link BlipQuestionAnswerer#answerAll}).
 */
final class BlipVqaModel implements TaskModel<BlipVqaModel.Input> {
  private static final long PRESET_SEED = 42;

  record Input(float[] pixelValues, List<String> questions, List<String> candidates) {}

  private final NDManager manager;
  private final BlipQuestionAnswerer answerer;
  private final BlipImagePreprocessor preprocessor;
  private final BlipQuestionAnswerer.Options options;
  private final ModelInfo info;

  private BlipVqaModel(NDManager manager, BlipQuestionAnswerer answerer, Settings settings, ModelInfo info) {
    this.manager = manager;
    this.answerer = answerer;
    this.preprocessor = answerer.preprocessor();
    BlipQuestionAnswerer.Options original = answerer.defaultOptions();
    GenerationConfig generation = ModelSettings.decoding(original.generation(), settings,
        ModelSettings.VQA_NUM_BEAMS, ModelSettings.VQA_MAX_LENGTH, ModelSettings.VQA_MIN_LENGTH);
    this.options = new BlipQuestionAnswerer.Options(
        generation, 0, settings.get(ModelSettings.VQA_RANK_TOP_K), original.useKvCache(), false);
    this.info = info;
  }

  static BlipVqaModel load(ModelSource source, Device device, Settings settings) throws IOException {
    return TaskModelSupport.loadWithManager(device, manager -> {
      BlipQuestionAnswerer answerer;
      if (source.directory() != null) {
        answerer = BlipQuestionAnswerer.load(source.directory(), manager);
      } else {
        if (!source.preset().equals("blip-base")) {
          throw new IllegalArgumentException("unknown vqa preset '" + source.preset() + "' (blip-base)");
        }
        BlipConfig config = BlipConfig.vqaBase();
        answerer = new BlipQuestionAnswerer(BlipForQuestionAnswering.random(config, manager, PRESET_SEED),
            BlipTokenizer.open(source.tokenizerFiles(), config.text()), BlipImagePreprocessor.forVision(config.vision()));
      }
      return new BlipVqaModel(manager, answerer, settings, ModelIdentity.of("blip-vqa", source));
    });
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Input prepare(TaskRequest request, PixelImage image) throws TaskRejectedException {
    List<String> questions = TaskModelSupport.requireQuestions(request);
    return new Input(preprocessor.toChw(image), questions, List.copyOf(request.getVqa().getCandidates()));
  }

  @Override
  public List<TaskOutputs> runBatch(List<Input> batch) {
    List<BlipQuestionAnswerer.QueryAnswers> answered = answerer.answerAll(
        batch.stream().map(i -> new BlipQuestionAnswerer.Query(i.pixelValues(), i.questions(), i.candidates())).toList(),
        options);
    List<TaskOutputs> outputs = new ArrayList<>(batch.size());
    for (BlipQuestionAnswerer.QueryAnswers query : answered) {
      List<Answer> answers = new ArrayList<>();
      for (int q = 0; q < query.answers().size(); q++) {
        BlipQuestionAnswerer.Answer a = query.answers().get(q);
        List<CandidateScore> candidates = new ArrayList<>();
        for (BlipQuestionAnswerer.CandidateScore c : a.candidates()) {
          candidates.add(new CandidateScore(c.answer(), (float) c.probability(), (float) c.score()));
        }
        String text = a.rankedAnswer() != null ? a.rankedAnswer() : a.text();
        answers.add(new Answer(a.question(), text, candidates, (float) query.yesProbabilities()[q]));
      }
      outputs.add(new TaskOutputs(List.of(), null, null, answers));
    }
    return outputs;
  }

  @Override
  public void warmUp(int maxBatchSize) {
    float[] blank = new float[3 * preprocessor.width() * preprocessor.height()];
    TaskModelSupport.warmUp(this, maxBatchSize, () -> new Input(blank, List.of("is this a test?"), List.of()));
  }

  @Override
  public void close() {
    TaskModelSupport.closeWithManager(answerer::close, manager);
  }
}
