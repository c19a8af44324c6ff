package io.mmstream.model.blip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.RecordingWeightStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shapes other than the fixtures': a model built with random weights is saved as a checkpoint
 * directory (config.json, model.safetensors, vocab.txt only), loaded back and run; the loaded model
 * must compute exactly what the in-memory one does.
 */
class BlipOtherSizesTest {
  private static final String VISION = """
      "vision_config": {"hidden_size": 48, "intermediate_size": 80, "num_hidden_layers": 1,
        "num_attention_heads": 3, "image_size": 64, "patch_size": 32, "layer_norm_eps": 1e-6}""";
  private static final String TEXT = """
      "text_config": {"vocab_size": 30524, "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 3,
        "num_attention_heads": 2, "max_position_embeddings": 40, "bos_token_id": 30522, "pad_token_id": 0,
        "sep_token_id": 102}""";

  @TempDir Path temp;
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void captioningModelOfOtherSizesLoadsAndRuns() throws Exception {
    Path dir = modelDirectory("BlipForConditionalGeneration");
    BlipConfig config = BlipConfig.load(dir);
    RecordingWeightStore recorded = new RecordingWeightStore(
        new RandomWeightStore(manager, DataType.FLOAT32, 5, 0.2f), BlipOtherSizesTest::isTiedDecoderWeight);
    try (BlipForConditionalGeneration original = BlipForConditionalGeneration.fromStore(config, recorded)) {
      recorded.save(dir);
      try (BlipForConditionalGeneration loaded = BlipForConditionalGeneration.load(dir, manager);
          BlipTokenizer tokenizer = BlipTokenizer.open(dir, config.text());
          NDManager call = manager.newSubManager()) {
        NDArray pixels = BlipImagePreprocessor.load(dir, config.vision()).pixelValues(images(), call);
        assertThat(pixels.getShape().getShape()).containsExactly(2, 3, 64, 64);
        NDArray states = loaded.encodeImages(pixels);
        assertThat(states.getShape().getShape()).containsExactly(2, 5, 48);
        assertThat(states.toFloatArray()).containsExactly(original.encodeImages(pixels).toFloatArray());
        long[] prompt = tokenizer.captionPrompt("a picture of ");
        assertThat(prompt).containsExactly(30522, 1037, 3861, 1997);
        GenerationConfig beams = new GenerationConfig(12, 6, 3, 1f, 1f, 102, 0);
        GenerationResult cached = loaded.generate(states, prompt, beams, true, false);
        GenerationResult uncached = original.generate(states, prompt, beams, false, false);
        assertThat(cached.sequences()).isDeepEqualTo(uncached.sequences());
        assertThat(cached.sequences()[0]).startsWith(prompt).hasSizeBetween(6, 12);
      }
    }
  }

  @Test
  void vqaModelWithVisionWiderThanTextLoadsAndRuns() throws Exception {
    Path dir = modelDirectory("BlipForQuestionAnswering");
    BlipConfig config = BlipConfig.load(dir);
    RecordingWeightStore recorded = new RecordingWeightStore(
        new RandomWeightStore(manager, DataType.FLOAT32, 9, 0.2f), BlipOtherSizesTest::isTiedDecoderWeight);
    try (BlipForQuestionAnswering original = BlipForQuestionAnswering.fromStore(config, recorded)) {
      recorded.save(dir);
      // The question encoder reads 48-wide image states, the answer decoder 24-wide question states.
      assertThat(recorded.shapes.get("text_encoder.encoder.layer.0.crossattention.self.key.weight"))
          .containsExactly(24, 48);
      assertThat(recorded.shapes.get("text_decoder.bert.encoder.layer.0.crossattention.self.key.weight"))
          .containsExactly(24, 24);
      try (BlipForQuestionAnswering loaded = BlipForQuestionAnswering.load(dir, manager);
          BlipTokenizer tokenizer = BlipTokenizer.open(dir, config.text());
          NDManager call = manager.newSubManager()) {
        NDArray pixels = BlipImagePreprocessor.load(dir, config.vision()).pixelValues(images(), call);
        NDArray images = loaded.encodeImages(pixels);
        BlipTokenizer.Batch questions = tokenizer.questions(List.of("what is it?", "is there a cat in the picture?"));
        assertThat(questions.ids()[0][0]).isEqualTo(30523);
        NDArray mask = call.create(questions.mask());
        NDArray states = loaded.encodeQuestions(call.create(questions.ids()), mask, images);
        assertThat(states.toFloatArray())
            .containsExactly(original.encodeQuestions(call.create(questions.ids()), mask, images).toFloatArray());
        GenerationResult answers = loaded.answer(states, new GenerationConfig(10, 1, 3, 1f, 1f, 102, 0), true, false);
        assertThat(answers.sequences()).hasNumberOfRows(2);
        assertThat(answers.sequences()[1][0]).isEqualTo(30522);
        BlipTokenizer.Batch candidates = tokenizer.candidates(List.of("yes", "no", "a red circle"));
        BlipRanking ranking = loaded.rank(states, mask, candidates.ids(), candidates.mask(), 2);
        assertThat(ranking.shortlist()[0]).hasSize(2);
        assertThat(ranking.scores()[0][ranking.best()[0]]).isFinite();
        assertThat(ranking.scores()[0][ranking.best()[0]]).isLessThan(0);
      }
    }
  }

  private Path modelDirectory(String architecture) throws IOException {
    Path dir = Files.createTempDirectory(temp, "blip");
    Files.writeString(dir.resolve("config.json"),
        "{\"architectures\": [\"" + architecture + "\"], \"model_type\": \"blip\",\n" + VISION + ",\n" + TEXT + "}");
    Files.copy(BlipFixture.ROOT.resolve("blip-tiny-caption").resolve("vocab.txt"), dir.resolve("vocab.txt"));
    return dir;
  }

  /** The LM head's decoder, tied to the word embeddings: checkpoints may leave it out. */
  private static boolean isTiedDecoderWeight(String key) {
    return key.endsWith("decoder.weight") || key.endsWith("decoder.bias");
  }

  private static List<PixelImage> images() throws IOException {
    try (BlipFixture fixture = BlipFixture.caption()) {
      return fixture.images(false).subList(1, 3);
    }
  }
}
