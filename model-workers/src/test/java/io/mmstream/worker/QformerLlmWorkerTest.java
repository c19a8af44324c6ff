package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.PixelImage;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.generation.VisualQuestionAnswering;
import io.mmstream.schema.Answer;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.schema.VqaTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Caption and VQA workers on BLIP-2 (OPT, Flan-T5) and InstructBLIP Flan-T5 directories, end to end through a real
 * broker: greedy captions equal LAVIS' recorded texts, and VQA answers and P(yes) equal the model called directly
 * on each question in the original prompt format.
 */
class QformerLlmWorkerTest {
  private static final Path FIXTURES = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));
  private static final ImageLoader LOADER = new ImageLoader(ImageLimits.defaults());
  private static final double TOLERANCE = 1e-4;
  private static final List<String> QUESTIONS = List.of("is there a circle?", "what color is the shape?");
  /** Fixture images asked per VQA test: enough for a batch of several questions, few enough for the direct reruns. */
  private static final int VQA_IMAGES = 2;

  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void start() throws Exception {
    broker = EmbeddedKafkaBroker.start();
    WorkerTestKit.createTopics(broker, 2);
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void blip2OptCaptionsAreLavisGreedyCaptions() throws Exception {
    assertGreedyCaptionsMatchGoldens(FIXTURES.resolve("blip2/blip2-opt-tiny"), "lavis_output_text");
  }

  @Test
  void blip2T5CaptionsAreLavisGreedyCaptions() throws Exception {
    assertGreedyCaptionsMatchGoldens(FIXTURES.resolve("blip2/blip2-t5-tiny"), "lavis_generate_text");
  }

  @Test
  void blip2OptVqaEqualsTheModelCalledDirectly() throws Exception {
    assertVqaEqualsDirect(FIXTURES.resolve("blip2/blip2-opt-tiny"), "Question: is there a circle? Answer:");
  }

  @Test
  void blip2T5VqaEqualsTheModelCalledDirectly() throws Exception {
    assertVqaEqualsDirect(FIXTURES.resolve("blip2/blip2-t5-tiny"), "Question: is there a circle? Answer:");
  }

  @Test
  void instructBlipT5VqaEqualsTheModelCalledDirectly() throws Exception {
    assertVqaEqualsDirect(FIXTURES.resolve("instructblip/instructblip-t5-tiny"), "is there a circle?");
  }

  /** Every empty-prompt case of the fixture through a greedy caption worker gives the recorded LAVIS text. */
  private static void assertGreedyCaptionsMatchGoldens(Path dir, String textField) throws Exception {
    JsonNode golden = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
    List<TaskRequest> tasks = new ArrayList<>();
    List<String> expected = new ArrayList<>();
    int maxNewTokens = 0;
    for (JsonNode c : golden.get("cases")) {
      if (!c.get("prompt").isTextual() || !c.get("prompt").asText().isEmpty()) {
        continue;
      }
      maxNewTokens = c.get("max_new_tokens").asInt();
      JsonNode text = c.get(textField);
      expected.add(text.isArray() ? text.get(0).asText() : text.asText());
      byte[] image = Files.readAllBytes(dir.resolve(c.get("image").asText()));
      tasks.add(WorkerTestKit.request(dir.getFileName() + "-caption-" + c.get("name").asText(), TaskType.CAPTION, image)
          .setCaption(new CaptionTask(null)).build());
    }
    assertThat(tasks).isNotEmpty();
    List<TaskResult> results = run(ModelKind.CAPTION, dir, tasks, Map.of(
        ModelSettings.CAPTION_NUM_BEAMS.key(), "1", ModelSettings.CAPTION_MAX_LENGTH.key(), String.valueOf(maxNewTokens)));
    for (int i = 0; i < tasks.size(); i++) {
      assertThat(results.get(i).getOutputs().getCaption()).as(tasks.get(i).getTaskId()).isEqualTo(expected.get(i));
    }
  }

  /** Each fixture image asked two questions: answers and P(yes) as the model gives them for that question alone. */
  private static void assertVqaEqualsDirect(Path dir, String firstPrompt) throws Exception {
    List<TaskRequest> tasks = new ArrayList<>();
    List<Path> files;
    try (var list = Files.list(dir.resolve("images"))) {
      files = list.filter(Files::isRegularFile).sorted().limit(VQA_IMAGES).toList();
    }
    for (int i = 0; i < files.size(); i++) {
      VqaTask vqa = VqaTask.newBuilder().setQuestions(QUESTIONS).setCandidates(List.of()).build();
      tasks.add(WorkerTestKit.request(dir.getFileName() + "-vqa-" + i, TaskType.VQA, Files.readAllBytes(files.get(i))).setVqa(vqa).build());
    }
    List<TaskResult> results = run(ModelKind.VQA, dir, tasks, Map.of());
    DecodingOptions decoding = new DecodingOptions(ModelSettings.VQA_MAX_LENGTH.defaultValue(), null, false, null);
    try (NDManager manager = NDManager.newBaseManager();
        VisionLanguageModel model = VisionLanguageModels.load(dir, manager)) {
      VisualQuestionAnswering vqa = (VisualQuestionAnswering) model;
      assertThat(vqa.questionPrompt(QUESTIONS.get(0))).isEqualTo(firstPrompt);
      for (int i = 0; i < tasks.size(); i++) {
        PixelImage image = LOADER.load(tasks.get(i));
        List<Answer> answers = results.get(i).getOutputs().getAnswers();
        assertThat(answers).extracting(Answer::getQuestion).containsExactlyElementsOf(QUESTIONS);
        for (int q = 0; q < QUESTIONS.size(); q++) {
          GenerationRequest alone = GenerationRequest.of(image, vqa.questionPrompt(QUESTIONS.get(q)));
          assertThat(answers.get(q).getAnswer()).isEqualTo(model.generate(List.of(alone), decoding).get(0).text());
          double yes = vqa.yesProbabilities(List.of(alone))[0];
          assertThat(yes).isStrictlyBetween(0.0, 1.0);
          assertThat((double) answers.get(q).getYesProbability()).isCloseTo(yes, within(TOLERANCE));
        }
      }
      assertThat(results.get(0).getModel().getName()).startsWith(model.modelType().replace('/', '-'));
    }
  }

  /** Runs a worker of {@code kind} on {@code tasks}; returns their committed results in task order. */
  private static List<TaskResult> run(ModelKind kind, Path modelDir, List<TaskRequest> tasks, Map<String, String> extra)
      throws Exception {
    return WorkerTestKit.runOnModel(broker, kind, modelDir, "qformer-" + kind.id() + "-" + modelDir.getFileName(), tasks, extra);
  }
}
