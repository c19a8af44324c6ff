package io.mmstream.model.instructblip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.blip.BlipTextAttention;
import io.mmstream.model.blip.BlipTextSelfAttention;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/**
 * One Q-Former layer over {@code [queries; instruction]} rows: self-attention over all rows, then
 * (on cross-attention layers) the query rows alone attend to the image, then the query rows go
 * through {@code intermediate_query/output_query} and the instruction rows through
 * {@code intermediate/output}. BLIP-2's Q-Former has query rows only.
 */
final class QFormerLayer {
  private final BlipTextAttention attention;
  private final BlipTextAttention crossAttention;
  private final QFormerFeedForward queryFeedForward;
  private final QFormerFeedForward textFeedForward;

  private QFormerLayer(
      BlipTextAttention attention, BlipTextAttention crossAttention, QFormerFeedForward queryFeedForward,
      QFormerFeedForward textFeedForward) {
    this.attention = attention;
    this.crossAttention = crossAttention;
    this.queryFeedForward = queryFeedForward;
    this.textFeedForward = textFeedForward;
  }

  /** @param textInput whether the layer has the instruction rows' {@code intermediate/output} (BLIP-2's has not) */
  static QFormerLayer load(Weights w, InstructBlipQFormerConfig c, int index, boolean textInput) {
    int h = c.hiddenSize();
    return new QFormerLayer(
        attention(w.sub("attention"), c, h),
        c.hasCrossAttention(index) ? attention(w.sub("crossattention"), c, c.encoderHiddenSize()) : null,
        QFormerFeedForward.load(w, "intermediate_query", "output_query", c),
        textInput ? QFormerFeedForward.load(w, "intermediate", "output", c) : null);
  }

  /** HF InstructBLIP names the inner attention {@code attention} where BLIP's text model says {@code self}. */
  private static BlipTextAttention attention(Weights w, InstructBlipQFormerConfig c, int keyValueWidth) {
    int h = c.hiddenSize();
    return new BlipTextAttention(
        BlipTextSelfAttention.load(w.sub("attention"), h, keyValueWidth, c.numAttentionHeads()),
        Linear.load(w.sub("output").sub("dense"), h, h, true),
        LayerNorm.load(w.sub("output").sub("LayerNorm"), h, c.layerNormEps()));
  }

  /**
   * @param x {@code [B, Q + L, H]}
   * @param mask additive {@code [B, 1, 1, Q + L]} over the rows, or null
   * @param image image states {@code [B, S, W]} (every image token is attended)
   * @param queries Q, the number of query rows leading {@code x}
   */
  NDArray forward(NDArray x, NDArray mask, NDArray image, long queries) {
    BlipTextSelfAttention self = attention.attention();
    NDArray h = attention.output(self.attend(self.queries(x), self.keys(x), self.values(x), mask), x);
    long rows = h.getShape().get(1);
    NDArray queryRows = rows == queries ? h : h.get(":, :" + queries);
    if (crossAttention != null) {
      BlipTextSelfAttention cross = crossAttention.attention();
      queryRows = crossAttention.output(
          cross.attend(cross.queries(queryRows), cross.keys(image), cross.values(image), null), queryRows);
    }
    NDArray out = queryFeedForward.forward(queryRows);
    if (rows > queries) {
      if (textFeedForward == null) {
        throw new IllegalArgumentException("this Q-Former takes no text rows");
      }
      out = out.concat(textFeedForward.forward(h.get(":, " + queries + ":")), 1);
    }
    return out;
  }
}
