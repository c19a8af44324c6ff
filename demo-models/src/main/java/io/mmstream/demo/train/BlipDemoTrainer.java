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
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Trains the demo's tiny BLIP models on synthetic scenes and writes them as Hugging Face BLIP
 * directories: the captioner (teacher-forced next-token loss on "a picture of" + caption, the prompt
 * itself not scored, as the original trains it) and the VQA model (answer tokens given image and
 * question), which starts from the trained captioner's vision tower and text decoder, as the
 * original's VQA model starts from pre-trained BLIP.
 */
public final class BlipDemoTrainer {
  static final int IMAGE_SIZE = 64;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  /** Checkpoint keys that are buffers or tied to the word embeddings, never parameters. */
  private static final String[] NOT_PARAMETERS = {".*position_ids", ".*predictions\\.decoder\\.(weight|bias)"};

  private BlipDemoTrainer() {}

  public static TrainingPlan defaultCaptionPlan(long seed) {
    return new TrainingPlan(1200, 32, 1e-3f, seed);
  }

  public static TrainingPlan defaultVqaPlan(long seed) {
    return new TrainingPlan(1200, 48, 1e-3f, seed);
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

  private record CaptionBatch(List<float[]> pixels, TokenRows captions) {}

  private record VqaBatch(List<float[]> pixels, BlipTokenizer.Batch questions, TokenRows answers) {}

  public static double trainCaptioner(Path dir, TrainingPlan plan, PrintStream log) throws IOException {
    Files.createDirectories(dir);
    writeFiles(dir, "BlipForConditionalGeneration", 30, 1);
    BlipConfig config = BlipConfig.load(dir);
    SceneGenerator scenes = new SceneGenerator(plan.seed(), ClipDemoTrainer.SCENE_SIZE);
    BlipImagePreprocessor preprocessor = BlipImagePreprocessor.load(dir, config.vision());
    try (BlipTokenizer tokenizer = BlipTokenizer.open(dir, config.text());
         NDManager root = NDManager.newBaseManager();
         TrainableWeights parameters = new TrainableWeights(root, plan.seed(), 0.02f, Map.of(), NOT_PARAMETERS)) {
      String prompt = BlipCaptioner.DEFAULT_PROMPT;
      int promptLength = tokenizer.captionPrompt(prompt).length;
      double loss = TrainingLoop.run("caption", parameters, root, plan,
          () -> {
            List<float[]> pixels = new ArrayList<>();
            List<String> captions = new ArrayList<>();
            for (int i = 0; i < plan.batchSize(); i++) {
              Scene scene = scenes.next();
              pixels.add(preprocessor.toChw(PixelImage.from(scene.image())));
              captions.add(prompt + scene.caption());
            }
            return new CaptionBatch(pixels, TokenRows.of(tokenizer.decoderSequences(captions), promptLength));
          },
          (batch, step) -> {
            BlipForConditionalGeneration model = BlipForConditionalGeneration.fromStore(config, parameters);
            NDArray states = model.encodeImages(preprocessor.pixelValues(batch.pixels(), step));
            NDArray ids = step.create(batch.captions().ids());
            return nextTokenLoss(model.logits(states, ids), batch.captions(), step);
          },
          log);
      parameters.save(dir.resolve("model.safetensors"));
      return loss;
    }
  }

  /** Trains the VQA model, starting from the captioner in {@code captionerDir}. */
  public static double trainQuestionAnswering(Path dir, Path captionerDir, TrainingPlan plan, PrintStream log)
      throws IOException {
    Files.createDirectories(dir);
    writeFiles(dir, "BlipForQuestionAnswering", 10, 1);
    BlipConfig config = BlipConfig.load(dir);
    SceneGenerator scenes = new SceneGenerator(plan.seed(), ClipDemoTrainer.SCENE_SIZE);
    Random random = new Random(plan.seed() + 1);
    BlipImagePreprocessor preprocessor = BlipImagePreprocessor.load(dir, config.vision());
    try (BlipTokenizer tokenizer = BlipTokenizer.open(dir, config.text());
         NDManager root = NDManager.newBaseManager();
         TrainableWeights parameters = new TrainableWeights(root, plan.seed(), 0.02f, Map.of(), NOT_PARAMETERS)) {
      // The question encoder has the decoder's layout (plus cross-attention to the image, which the
      // captioner's decoder has too), so both start from the captioner's text decoder.
      parameters.initializeFrom(captionerDir, key -> key.startsWith("text_decoder.bert.")
          ? List.of(key, "text_encoder." + key.substring("text_decoder.bert.".length()))
          : List.of(key));
      double loss = TrainingLoop.run("vqa", parameters, root, plan,
          () -> {
            List<float[]> pixels = new ArrayList<>();
            List<String> questions = new ArrayList<>();
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < plan.batchSize(); i++) {
              Scene scene = scenes.next();
              pixels.add(preprocessor.toChw(PixelImage.from(scene.image())));
              QuestionAnswer qa = scene.questions().get(random.nextInt(scene.questions().size()));
              questions.add(qa.question());
              answers.add(qa.answer());
            }
            return new VqaBatch(pixels, tokenizer.questions(questions),
                TokenRows.of(tokenizer.decoderSequences(answers), 1));
          },
          (batch, step) -> {
            BlipForQuestionAnswering model = BlipForQuestionAnswering.fromStore(config, parameters);
            NDArray states = model.encodeImages(preprocessor.pixelValues(batch.pixels(), step));
            NDArray questionStates = model.encodeQuestions(
                step.create(batch.questions().ids()), step.create(batch.questions().mask()), states);
            // Generation lets the answer decoder see every question position, padding included; so does training.
            NDArray logits = model.answerLogits(step.create(batch.answers().ids()), null, questionStates, null);
            return nextTokenLoss(logits, batch.answers(), step);
          },
          log);
      parameters.save(dir.resolve("model.safetensors"));
      return loss;
    }
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
    root.putObject("vision_config")
        .put("model_type", "blip_vision_model").put("hidden_size", 96).put("intermediate_size", 384)
        .put("num_hidden_layers", 3).put("num_attention_heads", 4).put("num_channels", 3)
        .put("image_size", IMAGE_SIZE).put("patch_size", 8).put("hidden_act", "gelu").put("layer_norm_eps", 1e-5);
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
