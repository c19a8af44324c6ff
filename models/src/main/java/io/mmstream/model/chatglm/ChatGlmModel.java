package io.mmstream.model.chatglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RotaryEmbedding;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * ChatGLM-6B's language model ({@code transformer.*} of {@code modeling_chatglm.py}) with its head: word
 * embeddings, {@link GlmBlock}s, a final LayerNorm, and logits from the word embeddings (the checkpoint's
 * {@code lm_head.weight} is replaced by them, as {@code from_pretrained}'s {@code tie_weights()} does).
 */
public final class ChatGlmModel {
  private final ChatGlmConfig config;
  private final NDArray wordEmbeddings;
  private final List<GlmBlock> layers;
  private final LayerNorm finalLayerNorm;
  private final RotaryEmbedding rotary;
  private final Linear head;

  private ChatGlmModel(ChatGlmConfig config, NDArray wordEmbeddings, List<GlmBlock> layers, LayerNorm finalLayerNorm,
      RotaryEmbedding rotary) {
    this.config = config;
    this.wordEmbeddings = wordEmbeddings;
    this.layers = List.copyOf(layers);
    this.finalLayerNorm = finalLayerNorm;
    this.rotary = rotary;
    this.head = new Linear(wordEmbeddings, null);
  }

  /** Loads {@code word_embeddings}, {@code layers.i.*} and {@code final_layernorm} under {@code w} ({@code transformer}). */
  public static ChatGlmModel load(Weights w, ChatGlmConfig c) {
    List<GlmBlock> layers = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      layers.add(GlmBlock.load(w.sub("layers").sub(i), c, i));
    }
    return new ChatGlmModel(
        c,
        w.sub("word_embeddings").get("weight", c.vocabSize(), c.hiddenSize()),
        layers,
        LayerNorm.load(w.sub("final_layernorm"), c.hiddenSize(), c.layerNormEps()),
        new RotaryEmbedding(w.manager(), inverseFrequencies(w.manager(), c)));
  }

  /**
   * The rotary inverse frequencies over half a head, rounded to float16: the original builds them in float32 and
   * calls {@code .half()} on them, and keeps the rounded values even when the model runs in float32.
   */
  static float[] inverseFrequencies(NDManager manager, ChatGlmConfig c) {
    float[] exact = RotaryEmbedding.inverseFrequencies(c.headDim() / 2, ChatGlmConfig.ROTARY_THETA);
    try (NDArray values = manager.create(exact);
        NDArray half = values.toType(DataType.FLOAT16, false);
        NDArray rounded = half.toType(DataType.FLOAT32, false)) {
      return rounded.toFloatArray();
    }
  }

  public ChatGlmConfig config() {
    return config;
  }

  public LlamaKvCache newCache(NDManager manager) {
    return new LlamaKvCache(manager, config.numLayers());
  }

  /** Word embeddings {@code [B, T, H]} of {@code ids [B, T]}. */
  public NDArray embed(NDArray ids) {
    return Embedding.embedding(ids.toType(DataType.INT64, false), wordEmbeddings, SparseFormat.DENSE).singletonOrThrow();
  }

  /**
   * The final-normed hidden states {@code [B, T, H]}.
   *
   * @param inputsEmbeds {@code [B, T, H]}
   * @param positionIds {@code [B, 2, T]}: positions, block positions
   * @param mask additive {@code [B|1, 1, T, past + T]}, or null
   * @param cache extended with the T new positions when non-null
   * @param eachLayer sees each block's output when non-null (parity tests); the array is freed after the call
   */
  public NDArray hiddenStates(NDArray inputsEmbeds, NDArray positionIds, NDArray mask, LlamaKvCache cache,
      Consumer<NDArray> eachLayer) {
    return LayerScope.apply(inputsEmbeds, input -> {
      DataType type = input.getDataType();
      NDList positionTables = rotary.tables(positionIds.get(":, 0, :"), type);
      NDList blockTables = rotary.tables(positionIds.get(":, 1, :"), type);
      NDArray x = input;
      for (GlmBlock layer : layers) {
        NDArray in = x;
        x = LayerScope.apply(in, h -> layer.forward(h, rotary, positionTables, blockTables, mask, cache));
        if (eachLayer != null) {
          eachLayer.accept(x);
        }
        if (in != input) {
          in.close();
        }
      }
      return finalLayerNorm.forward(x);
    });
  }

  /** Logits {@code [..., vocab]} of final-normed hidden states {@code [..., H]}. */
  public NDArray logits(NDArray hidden) {
    return head.forward(hidden);
  }

  /**
   * Greedy or beam search after {@code promptIds} (ending {@code [gMASK] <sop>}), with the KV cache.
   *
   * @param promptEmbeds the prompt's input embeddings {@code [1, L, H]} when they are not its word embeddings
   *     (image features spliced in), or null
   * @param generation lengths count the prompt, as the original's {@code max_length}/{@code min_length}
   * @param watch wraps the decoder the search drives (a text streamer), or null
   * @return the prompt followed by the generated ids, and per-step logits when asked for
   */
  public GenerationResult generate(long[] promptIds, NDArray promptEmbeds, GenerationConfig generation,
      boolean recordLogits, NDManager manager, UnaryOperator<IncrementalDecoder> watch) {
    try (ChatGlmDecoderSession session = new ChatGlmDecoderSession(this, manager, promptEmbeds)) {
      IncrementalDecoder decoder = watch == null ? session : watch.apply(session);
      return SequenceGenerator.generate(decoder, new long[][] {promptIds}, generation, recordLogits);
    }
  }
}
