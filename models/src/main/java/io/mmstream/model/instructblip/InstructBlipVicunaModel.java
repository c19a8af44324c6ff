package io.mmstream.model.instructblip;

import ai.djl.ndarray.NDManager;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * InstructBLIP with a LLaMA/Vicuna language model as a {@link VisionLanguageModel}: the prompt is the instruction.
 * Defaults are LAVIS' ({@link InstructGeneration#lavisDefaults()}); explicit greedy decoding (one beam) is plain
 * argmax without repetition penalty or minimum length, as {@code instruct --greedy}.
 */
public final class InstructBlipVicunaModel implements VisionLanguageModel {
  private final InstructBlipAnswerer answerer;

  public InstructBlipVicunaModel(InstructBlipAnswerer answerer) {
    this.answerer = answerer;
  }

  public static InstructBlipVicunaModel load(Path modelDirectory, NDManager manager) throws IOException {
    return new InstructBlipVicunaModel(InstructBlipAnswerer.load(modelDirectory, manager, InstructBlipOptions.defaults()));
  }

  public InstructBlipAnswerer answerer() {
    return answerer;
  }

  @Override
  public String modelType() {
    return "instructblip/llama";
  }

  @Override
  public boolean supportsHistory() {
    return false;
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions decoding) {
    InstructGeneration settings = settings(decoding);
    List<InstructRequest> instructions = new ArrayList<>();
    for (GenerationRequest request : requests) {
      if (request.images().size() != 1) {
        throw new IllegalArgumentException(
            "InstructBLIP answers about exactly one image per request, got " + request.images().size());
      }
      instructions.add(new InstructRequest(request.images().get(0), request.prompt()));
    }
    List<InstructAnswer> answers = answerer.answer(instructions, settings);
    List<GeneratedText> out = new ArrayList<>();
    for (InstructAnswer answer : answers) {
      long[] promptIds = answerer.processor().promptInputs(List.of(answer.instruction())).ids()[0];
      out.add(new GeneratedText(promptIds, answer.ids(), answer.text(), answer.stepLogits()));
    }
    return out;
  }

  static InstructGeneration settings(DecodingOptions decoding) {
    InstructGeneration lavis = InstructGeneration.lavisDefaults();
    int maxNewTokens = decoding.maxNewTokens() != null ? decoding.maxNewTokens() : lavis.maxNewTokens();
    InstructGeneration settings;
    if (decoding.numBeams() == null) {
      settings = new InstructGeneration(maxNewTokens, Math.min(lavis.minNewTokens(), maxNewTokens), lavis.numBeams(),
          lavis.repetitionPenalty(), lavis.lengthPenalty(), true, false);
    } else if (decoding.numBeams() == 1) {
      settings = InstructGeneration.greedy(maxNewTokens);
    } else {
      settings = new InstructGeneration(maxNewTokens, Math.min(lavis.minNewTokens(), maxNewTokens),
          decoding.numBeams(), lavis.repetitionPenalty(), lavis.lengthPenalty(), true, false);
    }
    return settings.withRecordLogits(decoding.recordLogits());
  }

  @Override
  public void close() {
    try {
      answerer.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
