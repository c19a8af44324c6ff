package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Images in, captions out: preprocessing, tokenizer and {@link BlipForConditionalGeneration} together. */
public final class BlipCaptioner implements AutoCloseable {
  /** The original's prompt; its decoded text is cut from the front of each caption. */
  public static final String DEFAULT_PROMPT = "a picture of ";

  /**
   * @param prompt text the caption continues ("" for an unconditional caption)
   * @param generation lengths count the prompt, as in the original
   * @param maxNewTokens when positive, caps the generated tokens (overrides the max length)
   */
  public record Options(
      String prompt, GenerationConfig generation, int maxNewTokens, boolean useKvCache, boolean recordLogits) {

    /** {@code BLIP_Decoder.generate}'s defaults: 3 beams, max_length 30, min_length 10, repetition penalty 1. */
    public static Options original(BlipTextConfig text) {
      return new Options(
          DEFAULT_PROMPT, new GenerationConfig(30, 10, 3, 1f, 1f, text.sepTokenId(), text.padTokenId()), 0, true, false);
    }

    public Options withGeneration(GenerationConfig newGeneration) {
      return new Options(prompt, newGeneration, maxNewTokens, useKvCache, recordLogits);
    }
  }

  /** @param ids generated tokens after the prompt (a row that stopped early is padded to the batch's length) */
  public record Caption(long[] ids, String text, float[][] stepLogits) {}

  private final BlipForConditionalGeneration model;
  private final BlipTokenizer tokenizer;
  private final BlipImagePreprocessor preprocessor;
  private final Options defaultOptions;

  public BlipCaptioner(BlipForConditionalGeneration model, BlipTokenizer tokenizer, BlipImagePreprocessor preprocessor) {
    this(model, tokenizer, preprocessor, Options.original(model.config().text()));
  }

  private BlipCaptioner(BlipForConditionalGeneration model, BlipTokenizer tokenizer, BlipImagePreprocessor preprocessor,
      Options defaultOptions) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.preprocessor = preprocessor;
    this.defaultOptions = defaultOptions;
  }

  /** Loads model, tokenizer and preprocessing from a HF model directory. */
  public static BlipCaptioner load(Path modelDirectory, NDManager manager) throws IOException {
    BlipForConditionalGeneration model = BlipForConditionalGeneration.load(modelDirectory, manager);
    try {
      BlipTextConfig text = model.config().text();
      Options original = Options.original(text);
      Options defaults = original.withGeneration(original.generation().withModelDefaults(modelDirectory));
      return new BlipCaptioner(model, BlipTokenizer.open(modelDirectory, text),
          BlipImagePreprocessor.load(modelDirectory, model.config().vision()), defaults);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public BlipForConditionalGeneration model() {
    return model;
  }

  /** The original's settings, with the model directory's {@code generation_config.json} applied when loaded from one. */
  public Options defaultOptions() {
    return defaultOptions;
  }

  public BlipImagePreprocessor preprocessor() {
    return preprocessor;
  }

  /** The decoder's prompt ids for {@code prompt}: [DEC] and the prompt's tokens. */
  public long[] promptIds(String prompt) {
    return tokenizer.captionPrompt(prompt);
  }

  /** Captions all {@code images} in one batch; each row stops on its own. */
  public List<Caption> caption(List<PixelImage> images, Options options) {
    return captionPixelValues(images.stream().map(preprocessor::toChw).toList(), options);
  }

  /**
   * Captions already preprocessed images ({@link BlipImagePreprocessor#toChw}) in one batch: lets a
   * caller preprocess on other threads than the one that runs the model.
   */
  public List<Caption> captionPixelValues(List<float[]> pixelValues, Options options) {
    long[] prompt = tokenizer.captionPrompt(options.prompt());
    GenerationConfig generation = options.generation();
    if (options.maxNewTokens() > 0) {
      generation = generation.withMaxLength(prompt.length + options.maxNewTokens());
    }
    GenerationResult result;
    try (NDManager call = model.manager().newSubManager()) {
      NDArray states = model.encodeImages(preprocessor.pixelValues(pixelValues, call));
      result = model.generate(states, prompt, generation, options.useKvCache(), options.recordLogits());
    }
    List<Caption> captions = new ArrayList<>();
    for (int i = 0; i < pixelValues.size(); i++) {
      long[] sequence = result.sequences()[i];
      String text = tokenizer.decode(sequence);
      // The original cuts as many characters as the prompt has from the decoded text.
      String caption = text.length() >= options.prompt().length() ? text.substring(options.prompt().length()) : text;
      captions.add(new Caption(Arrays.copyOfRange(sequence, prompt.length, sequence.length), caption,
          result.stepLogits() == null ? null : result.stepLogits()[i]));
    }
    return captions;
  }

  @Override
  public void close() throws IOException {
    tokenizer.close();
    model.close();
  }
}
