package io.mmstream.demo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.demo.DemoTokenizerFiles;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.demo.SceneGenerator.QuestionAnswer;
import io.mmstream.demo.SceneGenerator.Scene;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipCaptioner;
import io.mmstream.model.blip.BlipConfig;
import io.mmstream.model.blip.BlipForConditionalGeneration;
import io.mmstream.model.blip.BlipForQuestionAnswering;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.blip.BlipTokenizer;
import io.mmstream.model.tensor.WeightStore;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Trains the demo's tiny BLIP models on synthetic scenes and writes them as Hugging Face BLIP
 * directories: the captioner and the VQA model (answer tokens given image and question).
 */
public final class BlipDemoTrainer {
  static final int IMAGE_SIZE = 64;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  /** Checkpoint keys that are buffers or tied to the word embeddings, never parameters. */
  private static final String[] NOT_PARAMETERS = {".*position_ids", ".*predictions\\.decoder\\.(weight|bias)"};
  /** Prefixes of each model's own (text-side) parameters while both train over one vision tower. */
  private static final String CAPTION = "caption:";
  private static final String VQA = "vqa:";

  private BlipDemoTrainer() {}

  public static TrainingPlan defaultPlan(long seed) {
    return new TrainingPlan(2100, 32, 1e-3f, seed);
  }

  /** Token rows padded with [PAD], and which next-token targets count. */
  private record TokenRows(long[][] ids, float[][] scored) {
    /** Every real token at or after {@code firstScored} is a scored target; padding never is. */
    static TokenRows of(BlipTokenizer.Batch batch, int firstScored) {
      float[][] scored = new float[batch.ids().length][];
      for (int i = 0; i < scored.length; i++) {
        long[] mask = batch.mask()[i];
        scored[i] = new float[mask.length];
        for (int t = firstScored; t < mask.length; t++) {
          scored[i][t] = mask[t];
        }
      }
      return new TokenRows(batch.ids(), scored);
    }
  }

  /**
   * Scenes with their captions and every question asked about them; {@code imageOfQuestion[q]} is
   * the batch index of question q's scene.
   */
  private record Batch(List<float[]> pixels, TokenRows captions, long[] imageOfQuestion,
                       BlipTokenizer.Batch questions, TokenRows answers) {}

  /**
   * Trains the captioner and the VQA model together over one shared vision tower: every step
   * encodes its scenes once and scores both the captions (teacher-forced next-token loss on "a
   * picture of" + caption, the prompt itself not scored, as the original trains it) and the
   * answers to every question about each scene. Shapes are what both tasks find hardest, and the
   * tower learns them from both losses at the cost of one.
   */
  public static double train(Path captionDir, Path vqaDir, TrainingPlan plan, PrintStream log) throws IOException {
    Files.createDirectories(captionDir);
    Files.createDirectories(vqaDir);
    writeFiles(captionDir, "BlipForConditionalGeneration", 30, 1);
    writeFiles(vqaDir, "BlipForQuestionAnswering", 10, 1);
    BlipConfig captionConfig = BlipConfig.load(captionDir);
    BlipConfig vqaConfig = BlipConfig.load(vqaDir);
    SceneGenerator scenes = new SceneGenerator(plan.seed(), ClipDemoTrainer.SCENE_SIZE);
    BlipImagePreprocessor preprocessor = BlipImagePreprocessor.load(captionDir, captionConfig.vision());
    try (BlipTokenizer tokenizer = BlipTokenizer.open(captionDir, captionConfig.text());
         NDManager root = NDManager.newBaseManager();
         TrainableWeights parameters = new TrainableWeights(root, plan.seed(), 0.02f, Map.of(), NOT_PARAMETERS)) {
      // The vision tower's parameters are shared; each model's text side has its own.
      WeightStore captioner = parameters.view(key -> isVision(key) ? key : CAPTION + key);
      WeightStore answerer = parameters.view(key -> isVision(key) ? key : VQA + key);
      String prompt = BlipCaptioner.DEFAULT_PROMPT;
      int promptLength = tokenizer.captionPrompt(prompt).length;
      double loss = TrainingLoop.run("blip", parameters, root, plan,
          () -> nextBatch(scenes, preprocessor, tokenizer, prompt, promptLength, plan.batchSize()),
          (batch, step) -> {
            BlipForConditionalGeneration captionModel = BlipForConditionalGeneration.fromStore(captionConfig, captioner);
            BlipForQuestionAnswering vqaModel = BlipForQuestionAnswering.fromStore(vqaConfig, answerer);
            NDArray states = captionModel.encodeImages(preprocessor.pixelValues(batch.pixels(), step));
            NDArray captionLoss = nextTokenLoss(
                captionModel.logits(states, step.create(batch.captions().ids())), batch.captions(), step);
            // Each scene's states are repeated for every question asked about it.
            NDArray statesPerQuestion = states.get(step.create(batch.imageOfQuestion()));
            NDArray questionStates = vqaModel.encodeQuestions(
                step.create(batch.questions().ids()), step.create(batch.questions().mask()), statesPerQuestion);
            // Generation lets the answer decoder see every question position, padding included; so does training.
            NDArray answerLoss = nextTokenLoss(
                vqaModel.answerLogits(step.create(batch.answers().ids()), null, questionStates, null),
                batch.answers(), step);
            return captionLoss.add(answerLoss);
          },
          log);
      parameters.save(captionDir.resolve("model.safetensors"), key -> checkpointKey(key, CAPTION));
      parameters.save(vqaDir.resolve("model.safetensors"), key -> checkpointKey(key, VQA));
      return loss;
    }
  }

  private static boolean isVision(String key) {
    return key.startsWith("vision_model.");
  }

  /** The checkpoint key of a shared or {@code model}'s own parameter; empty for the other model's. */
  private static Optional<String> checkpointKey(String parameterKey, String model) {
    if (isVision(parameterKey)) {
      return Optional.of(parameterKey);
    }
    return parameterKey.startsWith(model) ? Optional.of(parameterKey.substring(model.length())) : Optional.empty();
  }

  private static Batch nextBatch(SceneGenerator scenes, BlipImagePreprocessor preprocessor, BlipTokenizer tokenizer,
                                 String prompt, int promptLength, int size) {
    List<float[]> pixels = new ArrayList<>();
    List<String> captions = new ArrayList<>();
    List<Long> imageOfQuestion = new ArrayList<>();
    List<String> questions = new ArrayList<>();
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Scene scene = scenes.next();
      pixels.add(preprocessor.toChw(PixelImage.from(scene.image())));
      captions.add(prompt + scene.caption());
      for (QuestionAnswer qa : scene.questions()) {
        imageOfQuestion.add((long) i);
        questions.add(qa.question());
        answers.add(qa.answer());
      }
    }
    return new Batch(pixels, TokenRows.of(tokenizer.decoderSequences(captions), promptLength),
        imageOfQuestion.stream().mapToLong(Long::longValue).toArray(), tokenizer.questions(questions),
        TokenRows.of(tokenizer.decoderSequences(answers), 1));
  }

  /** Mean cross-entropy of the scored next tokens: position t predicts token t + 1. */
  private static NDArray nextTokenLoss(NDArray logits, TokenRows rows, NDManager step) {
    int batch = rows.ids().length;
    int length = rows.ids()[0].length;
    long[][] targets = new long[batch][length - 1];
    float[][] weights = new float[batch][length - 1];
    for (int b = 0; b < batch; b++) {
      targets[b] = Arrays.copyOfRange(rows.ids()[b], 1, length);
      weights[b] = Arrays.copyOfRange(rows.scored()[b], 1, length);
    }
    NDArray logProbs = logits.get(":, :-1, :").logSoftmax(2);
    NDArray picked = logProbs.gather(step.create(targets).expandDims(2), 2).squeeze(2);
    NDArray weight = step.create(weights);
    return picked.mul(weight).sum().div(weight.sum()).neg();
  }

  /** The vision tower both BLIP models share and CLIP's starts from: 64 pixels in 8-pixel patches. */
  static ObjectNode visionConfig() {
    return JSON.createObjectNode()
        .put("hidden_size", 96).put("intermediate_size", 384).put("num_hidden_layers", 3).put("num_attention_heads", 4)
        .put("num_channels", 3).put("image_size", IMAGE_SIZE).put("patch_size", 8).put("hidden_act", "gelu")
        .put("layer_norm_eps", 1e-5);
  }

  /** config.json, generation_config.json, preprocessor_config.json and the tokenizer files. */
  private static void writeFiles(Path dir, String architecture, int maxLength, int minLength) throws IOException {
    DemoTokenizerFiles.BertVocabulary vocabulary = DemoTokenizerFiles.writeBert(dir);
    ObjectNode root = JSON.createObjectNode();
    root.putArray("architectures").add(architecture);
    root.put("model_type", "blip").put("projection_dim", 64).put("image_text_hidden_size", 64)
        .put("torch_dtype", "float32");
    root.putObject("text_config")
        .put("model_type", "blip_text_model").put("vocab_size", vocabulary.vocabSize()).put("hidden_size", 96)
        .put("encoder_hidden_size", 96).put("intermediate_size", 384).put("num_hidden_layers", 2)
        .put("num_attention_heads", 4).put("max_position_embeddings", 40).put("hidden_act", "gelu")
        .put("layer_norm_eps", 1e-12).put("bos_token_id", vocabulary.decId()).put("eos_token_id", vocabulary.sepId())
        .put("pad_token_id", vocabulary.padId()).put("sep_token_id", vocabulary.sepId()).put("is_decoder", true);
    root.set("vision_config", visionConfig().put("model_type", "blip_vision_model"));
    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(root));
    ObjectNode generation = JSON.createObjectNode().put("max_length", maxLength).put("min_length", minLength)
        .put("num_beams", 3);
    Files.writeString(dir.resolve("generation_config.json"), JSON.writeValueAsString(generation));
    ObjectNode preprocessor = JSON.createObjectNode().put("do_resize", true).put("do_normalize", true)
        .put("do_rescale", true).put("rescale_factor", 1 / 255.0).put("image_processor_type", "BlipImageProcessor");
    preprocessor.putObject("size").put("height", IMAGE_SIZE).put("width", IMAGE_SIZE);
    preprocessor.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
    preprocessor.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
    Files.writeString(dir.resolve("preprocessor_config.json"), JSON.writeValueAsString(preprocessor));
  }
}
