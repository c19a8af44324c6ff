package io.mmstream.model.generation;

import java.util.function.Consumer;

/**
 * How to decode; a null field keeps the model's own default (its generation_config.json or the original's).
 *
 * @param maxNewTokens most tokens generated after the prompt
 * @param numBeams 1 for greedy search
 * @param recordLogits keep each step's raw logits in {@link GeneratedText#stepLogits()}
 * @param textSink receives decoded text as it is generated (single-request calls only); may be null
 */
public record DecodingOptions(Integer maxNewTokens, Integer numBeams, boolean recordLogits, Consumer<String> textSink) {

  public static DecodingOptions defaults() {
    return new DecodingOptions(null, null, false, null);
  }

  public static DecodingOptions greedy(int maxNewTokens) {
    return new DecodingOptions(maxNewTokens, 1, false, null);
  }

  public DecodingOptions withLogits() {
    return new DecodingOptions(maxNewTokens, numBeams, true, textSink);
  }

  public DecodingOptions withTextSink(Consumer<String> sink) {
    return new DecodingOptions(maxNewTokens, numBeams, recordLogits, sink);
  }
}
