package io.mmstream.model.instructblip;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.mmstream.model.blip.BlipImagePreprocessor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Inputs of InstructBLIP as LAVIS prepares them: the image through BLIP's eval transform, the
 * instruction twice — through the Q-Former's BERT WordPiece ({@code qformer_tokenizer/},
 * {@code [CLS] … [SEP]}, right-padded) and through the LLM's tokenizer ({@code tokenizer.json},
 * which starts prompts with {@code </s>} as InstructBLIP's conversion sets it, left-padded) — and
 * the generated ids back to text.
 */
public final class InstructBlipProcessor implements AutoCloseable {
  /** LAVIS' {@code max_txt_len}: Q-Former instructions are truncated to this many tokens. */
  public static final int QFORMER_MAX_LENGTH = 128;
  public static final String QFORMER_TOKENIZER_DIR = "qformer_tokenizer";

  private static final Map<String, String> PLAIN =
      Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");

  private final BlipImagePreprocessor images;
  private final HuggingFaceTokenizer qformerTokenizer;
  private final HuggingFaceTokenizer llmTokenizer;
  private final long qformerPadId;
  private final long llmPadId;

  public InstructBlipProcessor(BlipImagePreprocessor images, HuggingFaceTokenizer qformerTokenizer,
      HuggingFaceTokenizer llmTokenizer, long qformerPadId, long llmPadId) {
    this.images = images;
    this.qformerTokenizer = qformerTokenizer;
    this.llmTokenizer = llmTokenizer;
    this.qformerPadId = qformerPadId;
    this.llmPadId = llmPadId;
  }

  /** Reads {@code preprocessor_config.json}, {@code qformer_tokenizer/tokenizer.json} and {@code tokenizer.json}. */
  public static InstructBlipProcessor load(Path modelDirectory, InstructBlipConfig config) throws IOException {
    BlipImagePreprocessor images = BlipImagePreprocessor.load(modelDirectory, config.vision());
    HuggingFaceTokenizer qformer = tokenizer(modelDirectory.resolve(QFORMER_TOKENIZER_DIR).resolve("tokenizer.json"));
    try {
      HuggingFaceTokenizer llm = tokenizer(modelDirectory.resolve("tokenizer.json"));
      return new InstructBlipProcessor(images, qformer, llm, config.qformer().padTokenId(), config.text().padTokenId());
    } catch (IOException | RuntimeException e) {
      qformer.close();
      throw e;
    }
  }

  private static HuggingFaceTokenizer tokenizer(Path json) throws IOException {
    if (!Files.isRegularFile(json)) {
      throw new IOException(json + " not found");
    }
    return HuggingFaceTokenizer.newInstance(json, PLAIN);
  }

  public BlipImagePreprocessor images() {
    return images;
  }

  /** Q-Former input: {@code [CLS] instruction [SEP]} truncated to {@link #QFORMER_MAX_LENGTH}, right-padded. */
  public TokenBatch qformerInputs(List<String> instructions) {
    long[][] rows = new long[instructions.size()][];
    for (int i = 0; i < rows.length; i++) {
      long[] ids = qformerTokenizer.encode(instructions.get(i)).getIds();
      if (ids.length > QFORMER_MAX_LENGTH) {
        long sep = ids[ids.length - 1];
        ids = Arrays.copyOf(ids, QFORMER_MAX_LENGTH);
        ids[QFORMER_MAX_LENGTH - 1] = sep;
      }
      rows[i] = ids;
    }
    return TokenBatch.pad(rows, qformerPadId, false);
  }

  /** LLM prompt: the tokenizer's special tokens ({@code </s>} first) and the instruction, left-padded. */
  public TokenBatch promptInputs(List<String> instructions) {
    long[][] rows = new long[instructions.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = llmTokenizer.encode(instructions.get(i)).getIds();
    }
    return TokenBatch.pad(rows, llmPadId, true);
  }

  /** LLM ids of {@code text} without special tokens (an answer continuation such as "yes"). */
  public long[] continuationIds(String text) {
    return llmTokenizer.encode(text, false, false).getIds();
  }

  /** Text of generated ids without special tokens, trimmed (LAVIS' post-processing). */
  public String decode(long[] ids) {
    return llmTokenizer.decode(ids, true).strip();
  }

  @Override
  public void close() {
    qformerTokenizer.close();
    llmTokenizer.close();
  }
}
