package io.mmstream.model.minigpt4;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.tensor.WeightException;
import io.mmstream.model.tensor.WeightStore;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The original BLIP-2 (LAVIS) and EVA key names seen under the Hugging Face names that the shared vision and
 * Q-Former classes ask for, as transformers' {@code convert_blip_2_original_to_pytorch.py} renames them: EVA's
 * {@code visual_encoder.blocks.i.*} become {@code vision_model.encoder.layers.i.*}, {@code ln_vision} the tower's
 * final LayerNorm, {@code Qformer.bert.*} the {@code qformer.*} tree. EVA stores a q and a v bias but no k bias (k is
 * unbiased); the fused qkv bias is {@code [q_bias; 0; v_bias]}. Keys no rule matches (the projection, the language
 * model) pass through unchanged.
 */
final class LavisBlip2Keys implements WeightStore {
  private record Rule(Pattern hf, String original) {}

  private static final List<Rule> RULES = List.of(
      rule("vision_model\\.embeddings\\.class_embedding", "visual_encoder.cls_token"),
      rule("vision_model\\.embeddings\\.position_embedding", "visual_encoder.pos_embed"),
      rule("vision_model\\.embeddings\\.patch_embedding\\.(\\w+)", "visual_encoder.patch_embed.proj.$1"),
      rule("vision_model\\.encoder\\.layers\\.(\\d+)\\.layer_norm([12])\\.(\\w+)", "visual_encoder.blocks.$1.norm$2.$3"),
      rule("vision_model\\.encoder\\.layers\\.(\\d+)\\.self_attn\\.qkv\\.weight", "visual_encoder.blocks.$1.attn.qkv.weight"),
      rule("vision_model\\.encoder\\.layers\\.(\\d+)\\.self_attn\\.projection\\.(\\w+)", "visual_encoder.blocks.$1.attn.proj.$2"),
      rule("vision_model\\.encoder\\.layers\\.(\\d+)\\.mlp\\.(fc[12])\\.(\\w+)", "visual_encoder.blocks.$1.mlp.$2.$3"),
      rule("vision_model\\.post_layernorm\\.(\\w+)", "ln_vision.$1"),
      rule("qformer\\.layernorm\\.(\\w+)", "Qformer.bert.embeddings.LayerNorm.$1"),
      rule("qformer\\.encoder\\.layer\\.(\\d+)\\.(attention|crossattention)\\.attention\\.(.+)",
          "Qformer.bert.encoder.layer.$1.$2.self.$3"),
      rule("qformer\\.encoder\\.(.+)", "Qformer.bert.encoder.$1"));

  private static final Pattern FUSED_QKV_BIAS =
      Pattern.compile("vision_model\\.encoder\\.layers\\.(\\d+)\\.self_attn\\.qkv\\.bias");

  private final WeightStore original;

  LavisBlip2Keys(WeightStore original) {
    this.original = original;
  }

  private static Rule rule(String hf, String original) {
    return new Rule(Pattern.compile(hf), original);
  }

  /** The original name of {@code key}; itself when no rule applies. */
  static String originalName(String key) {
    for (Rule r : RULES) {
      Matcher m = r.hf().matcher(key);
      if (m.matches()) {
        return m.replaceFirst(r.original());
      }
    }
    return key;
  }

  @Override
  public NDManager manager() {
    return original.manager();
  }

  @Override
  public DataType floatType() {
    return original.floatType();
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    Matcher fused = FUSED_QKV_BIAS.matcher(key);
    if (fused.matches()) {
      return Optional.of(fusedQkvBias("visual_encoder.blocks." + fused.group(1) + ".attn.", key, expectedShape));
    }
    return original.load(originalName(key), expectedShape);
  }

  private NDArray fusedQkvBias(String attention, String key, long[] expectedShape) {
    if (expectedShape == null || expectedShape.length != 1 || expectedShape[0] % 3 != 0) {
      throw new WeightException(describe() + ": '" + key + "' needs a [3 * width] shape");
    }
    long width = expectedShape[0] / 3;
    NDArray q = require(attention + "q_bias", width);
    NDArray v = require(attention + "v_bias", width);
    NDArray k = original.manager().zeros(q.getShape(), q.getDataType());
    NDArray fused = NDArrays.concat(new NDList(q, k, v));
    q.close();
    k.close();
    v.close();
    return fused;
  }

  private NDArray require(String name, long width) {
    return original.load(name, new long[] {width})
        .orElseThrow(() -> new WeightException(describe() + ": missing tensor '" + name + "'"));
  }

  @Override
  public boolean contains(String key) {
    Matcher fused = FUSED_QKV_BIAS.matcher(key);
    if (fused.matches()) {
      return original.contains("visual_encoder.blocks." + fused.group(1) + ".attn.q_bias");
    }
    return original.contains(originalName(key));
  }

  @Override
  public Set<String> unusedKeys() {
    return original.unusedKeys();
  }

  @Override
  public String describe() {
    return original.describe();
  }

  @Override
  public void close() throws IOException {
    original.close();
  }
}
