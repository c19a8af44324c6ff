package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import io.mmstream.config.LabelSets;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.PixelImage;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.model.blip.BlipCaptioner;
import io.mmstream.model.blip.BlipQuestionAnswerer;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.clip.ClipTokenizer;
import io.mmstream.model.clip.ClipZeroShotTagger;
import io.mmstream.model.clip.LabelSet;
import io.mmstream.schema.Answer;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.LabelScore;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.schema.VqaTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers with the real models (the tiny fixture checkpoints) on a real broker: each result equals
 * the model library called directly on that task alone, and carries its request's Kafka key.
 * One broker serves the class: each kind has its own task topic, and results are told apart by task id.
 */
class RealModelWorkerTest {
  private static final Path FIXTURES = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));
  private static final ImageLoader LOADER = new ImageLoader(ImageLimits.defaults());
  private static final double TOLERANCE = 1e-4;

  private static EmbeddedKafkaBroker broker;

  @TempDir static Path clipDir;

  @BeforeAll
  static void start() throws Exception {
    broker = EmbeddedKafkaBroker.start();
    WorkerTestKit.createTopics(broker, 2);
    // A complete CLIP model directory is the clip-tiny checkpoint plus the shared tokenizer files.
    for (Path file : List.of(FIXTURES.resolve("clip/clip-tiny/config.json"), FIXTURES.resolve("clip/clip-tiny/model.safetensors"),
        FIXTURES.resolve("clip/tokenizer/vocab.json"), FIXTURES.resolve("clip/tokenizer/merges.txt"))) {
      Files.createSymbolicLink(clipDir.resolve(file.getFileName()), file.toAbsolutePath());
    }
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void clipTagsEqualTheTaggerCalledDirectlyAndBatchesForm() throws Exception {
    LabelSet shapes = new LabelSet("shapes", List.of("red circle", "blue square", "green triangle", "gradient", "noise"),
        LabelSets.DEFAULT_TEMPLATES);
    LabelSet animals = new LabelSet("animals", List.of("cat", "dog", "car"), List.of("a photo of a {}.", "a drawing of a {}."));
    List<byte[]> images = images(20);
    List<TaskRequest> tasks = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      boolean even = i % 2 == 0;
      TagTask tag = TagTask.newBuilder()
          .setLabels(even ? shapes.labels() : animals.labels())
          .setTemplates(even ? List.of() : animals.templates())
          .setTopK(even ? 3 : 2)
          .build();
      tasks.add(WorkerTestKit.request("clip-" + i, TaskType.TAG, images.get(i)).setTag(tag).build());
    }
    List<TaskResult> results = run(ModelKind.CLIP, clipDir, tasks, Map.of(WorkerSettings.BATCH_MAX_DELAY_MS.key(), "300"));

    try (NDManager manager = NDManager.newBaseManager();
        ClipModel model = ClipModel.load(clipDir, manager);
        ClipTokenizer tokenizer = ClipTokenizer.load(clipDir, model.config().textConfig().maxPositionEmbeddings());
        ClipZeroShotTagger tagger = new ClipZeroShotTagger(model, tokenizer, manager, 8)) {
      for (int i = 0; i < tasks.size(); i++) {
        TaskResult result = results.get(i);
        boolean even = i % 2 == 0;
        ClipZeroShotTagger.ImageTags direct =
            tagger.tag(List.of(LOADER.load(tasks.get(i))), even ? shapes : animals, even ? 3 : 2).get(0);
        List<LabelScore> labels = result.getOutputs().getLabels();
        assertThat(labels).extracting(LabelScore::getLabel)
            .containsExactlyElementsOf(direct.top().stream().map(ClipZeroShotTagger.LabelScore::label).toList());
        for (int r = 0; r < labels.size(); r++) {
          assertThat(labels.get(r).getProbability()).isCloseTo(direct.top().get(r).probability(), within((float) TOLERANCE));
          assertThat(labels.get(r).getScore()).isCloseTo(direct.top().get(r).cosine(), within((float) TOLERANCE));
        }
        List<Float> embedding = result.getOutputs().getEmbedding();
        assertThat(embedding).hasSize(direct.embedding().length);
        for (int d = 0; d < embedding.size(); d++) {
          assertThat(embedding.get(d)).isCloseTo(direct.embedding()[d], within((float) TOLERANCE));
        }
        assertThat(result.getModel().getName()).isEqualTo("clip/" + clipDir.getFileName());
      }
    }
    assertThat(results).extracting(TaskResult::getBatchSize).anyMatch(size -> size > 1);
  }

  @Test
  void captionsEqualTheCaptionerCalledDirectlyForEachKindOfPrompt() throws Exception {
    Path dir = FIXTURES.resolve("blip/blip-tiny-caption");
    List<String> prompts = java.util.Arrays.asList(null, "", "a photo of ");
    List<byte[]> images = images(6);
    List<TaskRequest> tasks = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      tasks.add(WorkerTestKit.request("caption-" + i, TaskType.CAPTION, images.get(i)).setCaption(new CaptionTask(prompts.get(i % 3))).build());
    }
    List<TaskResult> results = run(ModelKind.CAPTION, dir, tasks, Map.of());

    try (NDManager manager = NDManager.newBaseManager();
        BlipCaptioner captioner = BlipCaptioner.load(dir, manager)) {
      BlipCaptioner.Options defaults = captioner.defaultOptions();
      for (int i = 0; i < tasks.size(); i++) {
        String prompt = prompts.get(i % 3) == null ? BlipCaptioner.DEFAULT_PROMPT : prompts.get(i % 3);
        BlipCaptioner.Options options =
            new BlipCaptioner.Options(prompt, defaults.generation(), 0, defaults.useKvCache(), false);
        String direct = captioner.caption(List.of(LOADER.load(tasks.get(i))), options).get(0).text();
        assertThat(results.get(i).getOutputs().getCaption()).as(tasks.get(i).getTaskId()).isEqualTo(direct);
      }
    }
  }

  @Test
  void vqaAnswersRankedCandidatesAndYesProbabilitiesEqualTheAnswererCalledDirectly() throws Exception {
    Path dir = FIXTURES.resolve("blip/blip-tiny-vqa");
    List<List<String>> questions = List.of(
        List.of("is there a red circle?"),
        List.of("what color is the shape?", "is it a square?"),
        List.of("what is in the picture?", "is the background white?", "how many shapes are there?"));
    List<String> colours = List.of("red", "blue", "green", "white");
    List<byte[]> images = images(6);
    List<TaskRequest> tasks = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      VqaTask vqa = VqaTask.newBuilder().setQuestions(questions.get(i % 3)).setCandidates(i % 2 == 1 ? colours : List.of()).build();
      tasks.add(WorkerTestKit.request("vqa-" + i, TaskType.VQA, images.get(i)).setVqa(vqa).build());
    }
    List<TaskResult> results = run(ModelKind.VQA, dir, tasks, Map.of());

    try (NDManager manager = NDManager.newBaseManager();
        BlipQuestionAnswerer answerer = BlipQuestionAnswerer.load(dir, manager)) {
      BlipQuestionAnswerer.Options options = answerer.defaultOptions();
      for (int i = 0; i < tasks.size(); i++) {
        PixelImage image = LOADER.load(tasks.get(i));
        List<String> asked = questions.get(i % 3);
        List<String> candidates = tasks.get(i).getVqa().getCandidates();
        List<BlipQuestionAnswerer.Answer> direct = answerer.answer(image, asked, candidates, options);
        List<BlipQuestionAnswerer.Answer> yesNo = answerer.answer(image, asked, BlipQuestionAnswerer.YES_NO, options);
        List<Answer> answers = results.get(i).getOutputs().getAnswers();
        assertThat(answers).extracting(Answer::getQuestion).containsExactlyElementsOf(asked);
        for (int q = 0; q < asked.size(); q++) {
          Answer answer = answers.get(q);
          BlipQuestionAnswerer.Answer expected = direct.get(q);
          assertThat(answer.getAnswer()).isEqualTo(candidates.isEmpty() ? expected.text() : expected.rankedAnswer());
          assertThat(answer.getCandidates()).hasSize(candidates.size());
          for (int c = 0; c < candidates.size(); c++) {
            assertThat(answer.getCandidates().get(c).getAnswer()).isEqualTo(candidates.get(c));
            assertThat((double) answer.getCandidates().get(c).getProbability())
                .isCloseTo(expected.candidates().get(c).probability(), within(TOLERANCE));
          }
          double yes = yesNo.get(q).candidates().get(0).probability();
          double no = yesNo.get(q).candidates().get(1).probability();
          assertThat((double) answer.getYesProbability()).isCloseTo(yes / (yes + no), within(TOLERANCE));
        }
      }
    }
  }

  /** Runs a worker of {@code kind} on {@code tasks}; returns their committed results in task order. */
  private static List<TaskResult> run(ModelKind kind, Path modelDir, List<TaskRequest> tasks, Map<String, String> extra)
      throws Exception {
    return WorkerTestKit.runOnModel(broker, kind, modelDir, "real-" + kind.id(), tasks, extra);
  }

  /** The CLIP fixture images first, then random PNGs of several sizes. */
  private static List<byte[]> images(int count) throws Exception {
    List<byte[]> images = new ArrayList<>();
    try (Stream<Path> files = Files.list(FIXTURES.resolve("clip/images"))) {
      for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
        images.add(Files.readAllBytes(file));
      }
    }
    for (int i = images.size(); i < count; i++) {
      images.add(WorkerTestKit.png(i, 24 + 7 * i, 40 + 5 * (i % 4)));
    }
    return images.subList(0, count);
  }
}
