package io.mmstream.demo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.demo.DemoTokenizerFiles;
import io.mmstream.demo.DemoVocabulary;
import io.mmstream.demo.SceneDialogues;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.demo.SceneGenerator.Scene;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipVisionConfig;
import io.mmstream.model.clip.ClipVisionTransformer;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.llama.LlamaModel;
import io.mmstream.model.llama.LlamaTokenizer;
import io.mmstream.model.llava.LlavaChatModel;
import io.mmstream.model.llava.LlavaConfig;
import io.mmstream.model.llava.LlavaConversation;
import io.mmstream.model.llava.LlavaForConditionalGeneration;
import io.mmstream.model.llava.LlavaImageProcessor;
import io.mmstream.model.tensor.SafetensorsWriter;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * Trains the demo's tiny LLaVA chat model on synthetic scene conversations ({@link SceneDialogues}) and writes it
 * as a llava-hf directory: the demo CLIP's vision tower, frozen, then an MLP projector and a small LLaMA decoder
 * with a word-level sentencepiece vocabulary, the two trained.
 *
 * <p>Each training sequence is a whole conversation built the way {@link LlavaChatModel} builds its prompts:
 * {@code conv_llava_v1} over the history, the image in the first user message, {@code tokenizer_image_token} ids.
 * Every reply's tokens and its {@code </s>} are scored; the prompt is not. The prompt of a later turn starts with
 * the earlier turn's prompt and reply (checked for every conversation), so scoring all replies of one sequence is
 * what generating each reply after its own prompt sees. History replies come as the LLaVA chat model returns them
 * (ending in {@code </s>}, as the original keeps them) and, one time in four, without it, as a caller that strips
 * the stop token passes them.
 */
public final class ChatDemoTrainer {
  static final int IMAGE_SIZE = BlipDemoTrainer.IMAGE_SIZE;
  private static final String STOP = "</s>";
  private static final String TOWER = "vision_tower.";
  /**
   * The tower's last layer, the one BLIP's decoders read (before its post-norm): over 400 steps it trained
   * steadily where the layer before it hit a non-finite loss.
   */
  static final int FEATURE_LAYER = -1;
  /** Enough distinct scenes that each is seen in a handful of conversations, not learnt by heart. */
  private static final int MAX_POOL_SCENES = 8192;
  private static final int POOL_CHUNK = 64;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ChatDemoTrainer() {}

  public static TrainingPlan defaultPlan(long seed) {
    return new TrainingPlan(800, 32, 2e-3f, seed);
  }

  /**
   * Conversations of one step, their ids as the chat model tokenizes them (one image marker each) and, per
   * position of the language model's input (the image's rows included, padding after), the next-token target and
   * whether it is scored.
   */
  private record Batch(float[] features, List<long[]> ids, long[][] targets, float[][] scored, long[][] mask) {}

  /**
   * Scenes whose tower features are computed once, before training: the tower is frozen, so its output for a
   * scene never changes, and running it every step would cost a third of the step.
   */
  private record ScenePool(List<Scene> scenes, float[][] features, long rows, long width) {}

  /**
   * Trains and writes config, tokenizer files and weights into {@code dir}; returns the final loss. The vision
   * tower is the BLIP vision tower of {@code blipDir} (the demo captioner's or VQA model's, which share it)
   * converted into CLIP's layout, frozen: BLIP's decoders read all its last-layer patch tokens, so they keep where
   * each shape is, which the contrastively trained CLIP tower's patches (only its class token is scored) do not.
   */
  public static double train(Path dir, TrainingPlan plan, Path blipDir, PrintStream log) throws IOException {
    Files.createDirectories(dir);
    DemoTokenizerFiles.LlamaVocabulary vocabulary = DemoTokenizerFiles.writeLlama(dir, words());
    writeConfig(dir, blipDir, vocabulary);
    LlavaConfig config = LlavaConfig.load(dir);
    LlamaTokenizer tokenizer = LlamaTokenizer.open(dir);
    LlavaImageProcessor processor = LlavaImageProcessor.load(dir, config.vision().imageSize());
    SceneDialogues dialogues = new SceneDialogues(plan.seed() + 1);
    Random draws = new Random(plan.seed() + 2);
    try (NDManager root = NDManager.newBaseManager();
         TrainableWeights parameters = new TrainableWeights(root, plan.seed(), 0.02f, Map.of())) {
      Map<String, NDArray> tower = loadTower(blipDir, config.vision(), plan.seed(), root);
      WeightStore store = new FrozenTowerWeights(tower, parameters);
      int poolSize = Math.max(plan.batchSize(), Math.min(MAX_POOL_SCENES, plan.steps() * plan.batchSize() / 4));
      ScenePool pool = scenePool(new SceneGenerator(plan.seed(), SceneGenerator.SAMPLE_SIZE), poolSize, processor,
          LlavaForConditionalGeneration.fromStore(config, store), root);
      double loss = TrainingLoop.run("chat", parameters, root, plan,
          () -> nextBatch(pool, dialogues, draws, tokenizer, vocabulary, config.imageTokens(), plan.batchSize()),
          (batch, step) -> replyLoss(LlavaForConditionalGeneration.fromStore(config, store), pool, batch, step),
          log);
      SafetensorsWriter writer = new SafetensorsWriter();
      tower.forEach(writer::add);
      parameters.parameters().forEach(writer::add);
      writer.write(dir.resolve("model.safetensors"));
      return loss;
    }
  }

  /** Every word the prompts and replies use: the template's, the scenes' and the conversations'. */
  static List<String> words() {
    Set<String> words = new LinkedHashSet<>();
    LlavaConversation template = LlavaConversation.LLAVA_V1;
    for (String text : List.of(template.system(), template.userRole(), template.assistantRole())) {
      for (String word : text.split("[\\s.,?:]+")) {
        if (!word.isEmpty()) {
          words.add(word);
        }
      }
    }
    words.addAll(DemoVocabulary.words());
    words.addAll(SceneDialogues.extraWords());
    return new ArrayList<>(words);
  }

  /**
   * {@code count} scenes and their tower features: {@link LlavaForConditionalGeneration#encodeImages}'s steps
   * before the projector ({@code visionOutput}, {@code selectFeatures}) over the chat model's own preprocessing.
   */
  private static ScenePool scenePool(SceneGenerator generator, int count, LlavaImageProcessor processor,
                                     LlavaForConditionalGeneration model, NDManager manager) {
    List<Scene> scenes = new ArrayList<>();
    float[][] features = new float[count][];
    long[] shape = null;
    for (int from = 0; from < count; from += POOL_CHUNK) {
      List<PixelImage> images = new ArrayList<>();
      for (int i = from; i < Math.min(count, from + POOL_CHUNK); i++) {
        Scene scene = generator.next();
        scenes.add(scene);
        images.add(PixelImage.from(scene.image()));
      }
      try (NDManager scope = manager.newSubManager()) {
        NDArray selected = model.selectFeatures(model.visionOutput(processor.pixelValues(images, scope)).hiddenStates());
        shape = selected.getShape().getShape();
        for (int i = 0; i < images.size(); i++) {
          features[from + i] = selected.get(i).toFloatArray();
        }
      }
    }
    return new ScenePool(scenes, features, shape[1], shape[2]);
  }

  private static NDArray replyLoss(LlavaForConditionalGeneration model, ScenePool pool, Batch batch, NDManager step) {
    int size = batch.ids().size();
    NDArray features = model.projector().forward(
        step.create(batch.features(), new Shape(size, pool.rows(), pool.width())));
    int length = batch.mask()[0].length;
    long width = features.getShape().get(2);
    List<NDArray> rows = new ArrayList<>();
    for (int i = 0; i < batch.ids().size(); i++) {
      NDArray embeds = model.inputsEmbeds(step, batch.ids().get(i), features.get(i + ":" + (i + 1)));
      long real = embeds.getShape().get(1);
      rows.add(real == length ? embeds : embeds.concat(step.zeros(new Shape(1, length - real, width)), 1));
    }
    NDArray mask = step.create(batch.mask());
    NDArray logits = model.languageModel().forward(NDArrays.concat(new NDList(rows), 0), mask,
        LlamaModel.positionsFromMask(mask, length), null);
    NDArray logProbs = logits.get(":, :-1, :").logSoftmax(2);
    NDArray picked = logProbs.gather(step.create(batch.targets()).expandDims(2), 2).squeeze(2);
    NDArray weight = step.create(batch.scored());
    return picked.mul(weight).sum().div(weight.sum()).neg();
  }

  private static Batch nextBatch(ScenePool pool, SceneDialogues dialogues, Random draws, LlamaTokenizer tokenizer,
                                 DemoTokenizerFiles.LlamaVocabulary vocabulary, int imageRows, int size) {
    int plane = (int) (pool.rows() * pool.width());
    float[] features = new float[size * plane];
    List<long[]> ids = new ArrayList<>();
    List<long[]> expanded = new ArrayList<>();
    List<float[]> scored = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      int pick = draws.nextInt(pool.scenes().size());
      System.arraycopy(pool.features()[pick], 0, features, i * plane, plane);
      Sequence sequence = conversation(dialogues.next(pool.scenes().get(pick)), draws, tokenizer, vocabulary);
      ids.add(sequence.ids());
      // The image marker becomes the image's rows: no targets there.
      int marker = indexOf(sequence.ids(), LlavaForConditionalGeneration.IMAGE_MARKER);
      int length = sequence.ids().length - 1 + imageRows;
      long[] tokens = new long[length];
      float[] score = new float[length];
      for (int j = 0; j < sequence.ids().length; j++) {
        if (j != marker) {
          int at = j < marker ? j : j - 1 + imageRows;
          tokens[at] = sequence.ids()[j];
          score[at] = sequence.scored()[j] ? 1f : 0f;
        }
      }
      Arrays.fill(tokens, marker, marker + imageRows, vocabulary.padId());
      expanded.add(tokens);
      scored.add(score);
    }
    int longest = expanded.stream().mapToInt(t -> t.length).max().orElseThrow();
    long[][] targets = new long[size][longest - 1];
    float[][] weights = new float[size][longest - 1];
    long[][] mask = new long[size][longest];
    for (int i = 0; i < size; i++) {
      long[] tokens = expanded.get(i);
      Arrays.fill(targets[i], vocabulary.padId());
      System.arraycopy(tokens, 1, targets[i], 0, tokens.length - 1);
      System.arraycopy(scored.get(i), 1, weights[i], 0, tokens.length - 1);
      Arrays.fill(mask[i], 0, tokens.length, 1L);
    }
    return new Batch(features, ids, targets, weights, mask);
  }

  /** A whole conversation's ids and which of them are reply tokens (or a reply's stop token). */
  private record Sequence(long[] ids, boolean[] scored) {}

  /**
   * The last turn's prompt with its reply appended; the earlier replies sit in it as history. Fails when an
   * earlier turn's prompt and reply are not where the next prompt has them, which would train on something
   * inference never shows.
   */
  private static Sequence conversation(List<SceneDialogues.Turn> turns, Random historyForm, LlamaTokenizer tokenizer,
                                       DemoTokenizerFiles.LlamaVocabulary vocabulary) {
    List<ChatTurn> history = new ArrayList<>();
    List<Long> ids = new ArrayList<>();
    List<Boolean> scored = new ArrayList<>();
    for (SceneDialogues.Turn turn : turns) {
      String prompt = LlavaConversation.LLAVA_V1.prompt(history, turn.question(), true);
      long[] promptIds = LlavaChatModel.promptIds(tokenizer, prompt);
      for (int j = 0; j < promptIds.length; j++) {
        if (j < ids.size()) {
          if (ids.get(j) != promptIds[j]) {
            throw new IllegalStateException("the prompt of '" + turn.question() + "' does not continue the previous "
                + "turn's prompt and reply at token " + j + ": " + prompt);
          }
        } else {
          ids.add(promptIds[j]);
          scored.add(false);
        }
      }
      long[] reply = tokenizer.encode(turn.answer());
      for (int j = 1; j < reply.length; j++) {
        ids.add(reply[j]);
        scored.add(true);
      }
      ids.add((long) vocabulary.eosId());
      scored.add(true);
      history.add(new ChatTurn(turn.question(), historyForm.nextInt(4) == 0 ? turn.answer() : turn.answer() + STOP));
    }
    boolean[] flags = new boolean[scored.size()];
    for (int i = 0; i < flags.length; i++) {
      flags[i] = scored.get(i);
    }
    return new Sequence(ids.stream().mapToLong(Long::longValue).toArray(), flags);
  }

  private static int indexOf(long[] ids, long id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    throw new IllegalStateException("no image marker in the conversation's ids");
  }

  /**
   * The BLIP vision tower of {@code blipDir} as a CLIP vision tower under llava-hf keys
   * ({@code vision_tower.vision_model.*}): converted by {@link ClipDemoTrainer#initializeVisionFromBlip} (CLIP's
   * pre-encoder norm, which BLIP lacks, at unit weight and zero bias), then loaded by the CLIP tower class so that
   * exactly the keys it reads are kept, copied into {@code manager} without gradients.
   */
  private static Map<String, NDArray> loadTower(Path blipDir, ClipVisionConfig vision, long seed, NDManager manager)
      throws IOException {
    Map<String, NDArray> tower = new LinkedHashMap<>();
    try (NDManager scope = manager.newSubManager();
         TrainableWeights converted = new TrainableWeights(scope, seed, 0.02f, Map.of(), ".*position_ids")) {
      ClipDemoTrainer.initializeVisionFromBlip(converted, blipDir, vision, scope);
      ClipVisionTransformer.load(new Weights(converted).sub("vision_model"), vision);
      converted.parameters().forEach((key, value) -> {
        NDArray copy = manager.create(value.toFloatArray(), value.getShape());
        tower.put(TOWER + key, copy);
      });
    }
    return tower;
  }

  /**
   * The model's tensors while it trains: the vision tower's from {@code tower} (no gradient: it stays as CLIP
   * trained it), the rest the {@link TrainableWeights}' parameters.
   */
  private static final class FrozenTowerWeights extends DelegatingStore {
    private final Map<String, NDArray> tower;

    FrozenTowerWeights(Map<String, NDArray> tower, TrainableWeights parameters) {
      super(parameters);
      this.tower = tower;
    }

    @Override
    public Optional<NDArray> load(String key, long[] expectedShape) {
      if (!key.startsWith(TOWER)) {
        return super.load(key, expectedShape);
      }
      NDArray value = tower.get(key);
      if (value == null) {
        return Optional.empty();
      }
      if (!Arrays.equals(value.getShape().getShape(), expectedShape)) {
        throw new IllegalStateException(key + ": asked for " + Arrays.toString(expectedShape) + ", the tower has "
            + value.getShape());
      }
      // A view in the step's manager: what the model derives from it goes when the step ends, the tensor stays.
      NDArray view = value.reshape(value.getShape());
      view.attach(manager());
      return Optional.of(view);
    }

    @Override
    public boolean contains(String key) {
      return key.startsWith(TOWER) ? tower.containsKey(key) : super.contains(key);
    }

    @Override
    public void close() {
      // The tower's tensors and the parameters belong to the trainer, which closes them.
    }
  }

  /** A store that hands every call to another. */
  private static class DelegatingStore implements WeightStore {
    private final WeightStore inner;

    DelegatingStore(WeightStore inner) {
      this.inner = inner;
    }

    @Override
    public NDManager manager() {
      return inner.manager();
    }

    @Override
    public DataType floatType() {
      return inner.floatType();
    }

    @Override
    public Optional<NDArray> load(String key, long[] expectedShape) {
      return inner.load(key, expectedShape);
    }

    @Override
    public boolean contains(String key) {
      return inner.contains(key);
    }

    @Override
    public Set<String> unusedKeys() {
      return Set.of();
    }

    @Override
    public String describe() {
      return inner.describe();
    }

    @Override
    public void close() throws IOException {
      inner.close();
    }
  }

  /**
   * config.json (llava, the CLIP directory's vision config, a small LLaMA), generation_config.json and
   * preprocessor_config.json (the tower's 64-pixel input, CLIP's normalisation).
   */
  private static void writeConfig(Path dir, Path blipDir, DemoTokenizerFiles.LlamaVocabulary vocabulary)
      throws IOException {
    JsonNode blip = JSON.readTree(blipDir.resolve("config.json").toFile());
    ObjectNode vision = blip.path("vision_config").deepCopy();
    vision.remove("projection_dim");
    vision.put("model_type", "clip_vision_model");
    ObjectNode root = JSON.createObjectNode();
    root.putArray("architectures").add("LlavaForConditionalGeneration");
    root.put("model_type", "llava").put("image_token_index", vocabulary.imageId())
        .put("pad_token_id", vocabulary.padId()).put("projector_hidden_act", "gelu")
        .put("multimodal_projector_bias", true).put("vision_feature_layer", FEATURE_LAYER)
        .put("vision_feature_select_strategy", "default").put("tie_word_embeddings", false)
        .put("vocab_size", vocabulary.vocabSize()).put("torch_dtype", "float32");
    root.putObject("text_config")
        .put("model_type", "llama").put("vocab_size", vocabulary.vocabSize()).put("hidden_size", 96)
        .put("intermediate_size", 256).put("num_hidden_layers", 2).put("num_attention_heads", 4)
        .put("num_key_value_heads", 4).put("hidden_act", "silu").put("max_position_embeddings", 2048)
        .put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0).put("attention_bias", false).put("mlp_bias", false)
        .put("tie_word_embeddings", false).put("bos_token_id", vocabulary.bosId())
        .put("eos_token_id", vocabulary.eosId()).put("pad_token_id", vocabulary.padId())
        .put("torch_dtype", "float32");
    root.set("vision_config", vision);
    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(root));
    ObjectNode generation = JSON.createObjectNode().put("bos_token_id", vocabulary.bosId())
        .put("eos_token_id", vocabulary.eosId()).put("pad_token_id", vocabulary.padId());
    Files.writeString(dir.resolve("generation_config.json"), JSON.writeValueAsString(generation));
    int size = vision.path("image_size").asInt();
    ObjectNode preprocessor = JSON.createObjectNode().put("image_processor_type", "CLIPImageProcessor")
        .put("do_resize", true).put("do_center_crop", true).put("do_normalize", true).put("do_rescale", true)
        .put("rescale_factor", 1 / 255.0).put("resample", 3);
    preprocessor.putObject("size").put("shortest_edge", size);
    preprocessor.putObject("crop_size").put("height", size).put("width", size);
    preprocessor.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
    preprocessor.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
    Files.writeString(dir.resolve("preprocessor_config.json"), JSON.writeValueAsString(preprocessor));
  }
}
