package io.mmstream.demo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.demo.DemoTokenizerFiles;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.demo.SceneGenerator.Scene;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipConfig;
import io.mmstream.model.clip.ClipImagePreprocessor;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.clip.ClipTokenizer;
import io.mmstream.model.nn.Scalars;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Trains the demo's tiny CLIP contrastively on synthetic scenes and writes it as a Hugging Face
 * CLIP directory.
 *
 * <p>The texts of every batch are every colour-and-shape tag (each in one of the demo label set's
 * templates) and every bare shape, so each image is contrasted with the whole label space at every
 * step. An image fits several texts and a text several images, so the targets are soft: every
 * image/text pair that fits counts as a positive, in both directions of the loss.
 */
public final class ClipDemoTrainer {
  static final int IMAGE_SIZE = 64;
  static final int CONTEXT_LENGTH = 24;
  static final int PATCH_SIZE = 8;
  static final int VISION_WIDTH = 96;
  /** Scenes are drawn larger than the model sees, so training resizes as inference does. */
  static final int SCENE_SIZE = SceneGenerator.SAMPLE_SIZE;
  private static final List<String> TAG_TEMPLATES = List.of("a {}.", "a picture of a {}.");
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ClipDemoTrainer() {}

  public static TrainingPlan defaultPlan(long seed) {
    return new TrainingPlan(1500, 32, 1e-3f, seed);
  }

  private record Batch(float[] pixels, List<String> texts, float[] matches) {}

  /** Trains and writes config, tokenizer files and weights into {@code dir}; returns the final loss. */
  public static double train(Path dir, TrainingPlan plan, PrintStream log) throws IOException {
    Files.createDirectories(dir);
    int vocabSize = DemoTokenizerFiles.writeClip(dir);
    writeConfig(dir, vocabSize);
    ClipConfig config = ClipConfig.read(dir);
    SceneGenerator scenes = new SceneGenerator(plan.seed(), SCENE_SIZE);
    Random random = new Random(plan.seed() + 1);
    ClipImagePreprocessor preprocessor = new ClipImagePreprocessor(IMAGE_SIZE);
    try (ClipTokenizer tokenizer = ClipTokenizer.load(dir, CONTEXT_LENGTH);
         NDManager root = NDManager.newBaseManager();
         TrainableWeights parameters = new TrainableWeights(root, plan.seed(), 0.02f,
             Map.of("logit_scale", (float) Math.log(1 / 0.07)), ".*position_ids")) {
      double loss = TrainingLoop.run("clip", parameters, root, plan,
          () -> nextBatch(scenes, random, preprocessor, plan.batchSize()),
          (batch, step) -> contrastiveLoss(ClipModel.fromStore(config, parameters), parameters, tokenizer, batch, step),
          log);
      parameters.save(dir.resolve("model.safetensors"));
      return loss;
    }
  }

  private static NDArray contrastiveLoss(ClipModel model, TrainableWeights parameters, ClipTokenizer tokenizer,
                                         Batch batch, NDManager step) {
    int t = batch.texts().size();
    int b = batch.matches().length / t;
    NDArray pixels = step.create(batch.pixels(), new Shape(b, 3, IMAGE_SIZE, IMAGE_SIZE));
    NDArray images = ClipModel.normalize(model.encodeImage(pixels));
    // The ids live in the step's manager: the embedding's backward pass reads them.
    ClipTokenizer.Batch tokens = tokenizer.encode(batch.texts());
    NDArray ids = tokens.toInputIds(step, tokens.longestLength());
    NDArray texts = ClipModel.normalize(model.encodeText(ids, tokens.eotIndices()));
    // CLIP's own guard: the temperature may not grow past 100.
    NDArray scale = parameters.load("logit_scale", new long[0]).orElseThrow().clip(0, Math.log(100)).exp();
    NDArray logits = images.matMul(texts.transpose()).mul(scale);
    NDArray matches = step.create(batch.matches(), new Shape(b, t));
    NDArray imageToText = matches.div(matches.sum(new int[] {1}, true));
    // A tag that no image of the batch shows has no target image: its column is left out.
    NDArray imagesPerText = matches.sum(new int[] {0}, true);
    NDArray textToImage = matches.div(imagesPerText.maximum(1f));
    float textsShown = imagesPerText.gt(0).toType(DataType.FLOAT32, false).sum().getFloat();
    NDArray lossImages = imageToText.mul(logits.logSoftmax(1)).sum(new int[] {1}).mean().neg();
    NDArray lossTexts = Scalars.divide(textToImage.mul(logits.logSoftmax(0)).sum().neg(), textsShown);
    return Scalars.multiply(lossImages.add(lossTexts), 0.5f);
  }

  private static Batch nextBatch(SceneGenerator scenes, Random random, ClipImagePreprocessor preprocessor, int size) {
    int plane = 3 * IMAGE_SIZE * IMAGE_SIZE;
    float[] pixels = new float[size * plane];
    List<Scene> drawn = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    List<Predicate<Scene>> fits = new ArrayList<>();
    // Every colour+shape tag and every bare shape is among the texts of every batch, so each image
    // is scored against the whole label space at each step; the scenes' captions come on top.
    for (SceneGenerator.ShapeColor color : SceneGenerator.ShapeColor.values()) {
      for (SceneGenerator.ShapeKind kind : SceneGenerator.ShapeKind.values()) {
        String tag = color.word() + " " + kind.word();
        texts.add(TAG_TEMPLATES.get(random.nextInt(TAG_TEMPLATES.size())).replace("{}", tag));
        fits.add(s -> s.tags().contains(tag));
      }
    }
    for (SceneGenerator.ShapeKind kind : SceneGenerator.ShapeKind.values()) {
      texts.add("a " + kind.word() + ".");
      fits.add(s -> s.shapes().stream().anyMatch(x -> x.kind() == kind));
    }
    for (int i = 0; i < size; i++) {
      Scene scene = scenes.next();
      drawn.add(scene);
      System.arraycopy(preprocessor.pixelValues(PixelImage.from(scene.image())), 0, pixels, i * plane, plane);
    }
    int textCount = texts.size();
    float[] matches = new float[size * textCount];
    for (int i = 0; i < size; i++) {
      for (int j = 0; j < textCount; j++) {
        matches[i * textCount + j] = fits.get(j).test(drawn.get(i)) ? 1f : 0f;
      }
    }
    return new Batch(pixels, texts, matches);
  }

  private static void writeConfig(Path dir, int vocabSize) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.putArray("architectures").add("CLIPModel");
    root.put("model_type", "clip").put("projection_dim", 64).put("logit_scale_init_value", 2.6592)
        .put("torch_dtype", "float32");
    root.putObject("text_config")
        .put("model_type", "clip_text_model").put("vocab_size", vocabSize).put("hidden_size", 64)
        .put("intermediate_size", 256).put("num_hidden_layers", 2).put("num_attention_heads", 4)
        .put("max_position_embeddings", CONTEXT_LENGTH).put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5)
        .put("bos_token_id", vocabSize - 2).put("eos_token_id", vocabSize - 1).put("pad_token_id", 0)
        .put("projection_dim", 64);
    root.putObject("vision_config")
        .put("model_type", "clip_vision_model").put("hidden_size", VISION_WIDTH).put("intermediate_size", 4 * VISION_WIDTH)
        .put("num_hidden_layers", 3).put("num_attention_heads", 4).put("image_size", IMAGE_SIZE)
        .put("patch_size", PATCH_SIZE).put("num_channels", 3).put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5)
        .put("projection_dim", 64);
    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(root));
  }
}
