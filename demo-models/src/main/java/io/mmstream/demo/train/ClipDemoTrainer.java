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
import io.mmstream.model.clip.ClipVisionConfig;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.CheckpointWeightStore;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
  static final int IMAGE_SIZE = BlipDemoTrainer.IMAGE_SIZE;
  static final int CONTEXT_LENGTH = 24;
  /** Scenes are drawn larger than the model sees, so training resizes as inference does. */
  static final int SCENE_SIZE = SceneGenerator.SAMPLE_SIZE;
  private static final List<String> TAG_TEMPLATES = List.of("a {}.", "a picture of a {}.");
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ClipDemoTrainer() {}

  public static TrainingPlan defaultPlan(long seed) {
    return new TrainingPlan(2500, 32, 1e-3f, seed);
  }

  private record Batch(float[] pixels, List<String> texts, float[] matches) {}

  /**
   * Trains and writes config, tokenizer files and weights into {@code dir}; returns the final loss.
   * The vision tower starts from the BLIP vision tower in {@code blipDir} when one is given.
   */
  public static double train(Path dir, TrainingPlan plan, Optional<Path> blipDir, PrintStream log) throws IOException {
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
      if (blipDir.isPresent()) {
        initializeVisionFromBlip(parameters, blipDir.get(), config.visionConfig(), root);
      }
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

  /**
   * Copies a BLIP vision tower of the same shape into CLIP's keys: BLIP's fused q/k/v split into
   * CLIP's three projections, its patch bias folded into the patch positions' embeddings (CLIP's
   * patch embedding has no bias), and CLIP's extra pre-encoder norm left at identity. The two
   * towers then differ only in that norm, which rescales each embedded token before the encoder.
   */
  static void initializeVisionFromBlip(TrainableWeights parameters, Path blipDir, ClipVisionConfig vision,
                                       NDManager manager) throws IOException {
    long d = vision.hiddenSize();
    long positions = (long) Math.pow(vision.imageSize() / vision.patchSize(), 2) + 1;
    try (NDManager scope = manager.newSubManager();
         CheckpointWeightStore blip = CheckpointWeightStore.open(blipDir, scope, DataType.FLOAT32, false)) {
      String embeddings = "vision_model.embeddings.";
      NDArray patchBias = require(blip, embeddings + "patch_embedding.bias", d);
      parameters.initialize(embeddings + "patch_embedding.weight", require(blip, embeddings + "patch_embedding.weight",
          d, vision.numChannels(), vision.patchSize(), vision.patchSize()));
      parameters.initialize(embeddings + "class_embedding", require(blip, embeddings + "class_embedding", 1, 1, d).reshape(d));
      NDArray position = require(blip, embeddings + "position_embedding", 1, positions, d).reshape(positions, d);
      parameters.initialize(embeddings + "position_embedding.weight",
          position.get("0:1").concat(position.get("1:").add(patchBias), 0));
      for (int i = 0; i < vision.numHiddenLayers(); i++) {
        String layer = "vision_model.encoder.layers." + i + ".";
        NDArray qkvWeight = require(blip, layer + "self_attn.qkv.weight", 3 * d, d);
        NDArray qkvBias = require(blip, layer + "self_attn.qkv.bias", 3 * d);
        String[] projections = {"q_proj", "k_proj", "v_proj"};
        for (int p = 0; p < 3; p++) {
          String rows = (p * d) + ":" + ((p + 1) * d);
          parameters.initialize(layer + "self_attn." + projections[p] + ".weight", qkvWeight.get(rows));
          parameters.initialize(layer + "self_attn." + projections[p] + ".bias", qkvBias.get(rows));
        }
        parameters.initialize(layer + "self_attn.out_proj.weight", require(blip, layer + "self_attn.projection.weight", d, d));
        parameters.initialize(layer + "self_attn.out_proj.bias", require(blip, layer + "self_attn.projection.bias", d));
        for (String norm : new String[] {"layer_norm1", "layer_norm2"}) {
          parameters.initialize(layer + norm + ".weight", require(blip, layer + norm + ".weight", d));
          parameters.initialize(layer + norm + ".bias", require(blip, layer + norm + ".bias", d));
        }
        long inner = vision.intermediateSize();
        parameters.initialize(layer + "mlp.fc1.weight", require(blip, layer + "mlp.fc1.weight", inner, d));
        parameters.initialize(layer + "mlp.fc1.bias", require(blip, layer + "mlp.fc1.bias", inner));
        parameters.initialize(layer + "mlp.fc2.weight", require(blip, layer + "mlp.fc2.weight", d, inner));
        parameters.initialize(layer + "mlp.fc2.bias", require(blip, layer + "mlp.fc2.bias", d));
      }
      parameters.initialize("vision_model.post_layernorm.weight", require(blip, "vision_model.post_layernorm.weight", d));
      parameters.initialize("vision_model.post_layernorm.bias", require(blip, "vision_model.post_layernorm.bias", d));
    }
  }

  private static NDArray require(CheckpointWeightStore store, String key, long... shape) {
    return store.load(key, shape).orElseThrow(() -> new IllegalArgumentException(store.describe() + " has no " + key));
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
    // The vision tower has the shape (and activation) of BLIP's, which it starts from.
    ObjectNode vision = BlipDemoTrainer.visionConfig().put("model_type", "clip_vision_model").put("projection_dim", 64);
    root.set("vision_config", vision);
    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(root));
  }
}
