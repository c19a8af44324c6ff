package io.mmstream.model.blip;

import ai.djl.ndarray.NDManager;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A BLIP captioning checkpoint ({@code BlipForConditionalGeneration}) as a {@link VisionLanguageModel}: the prompt is
 * the text the caption continues, and an empty prompt means the original's {@value BlipCaptioner#DEFAULT_PROMPT}.
 * Explicit greedy decoding (one beam) is plain argmax without the original's minimum length, as {@code caption --greedy}.
 */
public final class BlipCaptionModel implements VisionLanguageModel {
  private final BlipCaptioner captioner;

  public BlipCaptionModel(BlipCaptioner captioner) {
    this.captioner = captioner;
  }

  public static BlipCaptionModel load(Path modelDirectory, NDManager manager) throws IOException {
    return new BlipCaptionModel(BlipCaptioner.load(modelDirectory, manager));
  }

  @Override
  public String modelType() {
    return "blip";
  }

  @Override
  public boolean supportsHistory() {
    return false;
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions decoding) {
    BlipCaptioner.Options defaults = captioner.defaultOptions();
    GenerationConfig generation = defaults.generation();
    if (decoding.numBeams() != null) {
      generation = decoding.numBeams() == 1
          ? generation.withNumBeams(1).withMinLength(0)
          : generation.withNumBeams(decoding.numBeams());
    }
    long stop = generation.stopTokenId();
    List<GeneratedText> out = new ArrayList<>();
    for (GenerationRequest request : requests) {
      if (request.images().size() != 1) {
        throw new IllegalArgumentException("BLIP captions exactly one image per request, got " + request.images().size());
      }
      String prompt = request.prompt().isEmpty() ? BlipCaptioner.DEFAULT_PROMPT : request.prompt();
      BlipCaptioner.Options options = new BlipCaptioner.Options(prompt, generation,
          decoding.maxNewTokens() == null ? 0 : decoding.maxNewTokens(), true, decoding.recordLogits());
      BlipCaptioner.Caption caption = captioner.caption(request.images(), options).get(0);
      long[] ids = untilStop(caption.ids(), stop);
      float[][] logits = caption.stepLogits() == null ? null : Arrays.copyOf(caption.stepLogits(), ids.length);
      out.add(new GeneratedText(captioner.promptIds(prompt), ids, caption.text(), logits));
    }
    return out;
  }

  private static long[] untilStop(long[] ids, long stop) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == stop) {
        return Arrays.copyOf(ids, i + 1);
      }
    }
    return ids;
  }

  @Override
  public void close() {
    try {
      captioner.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
