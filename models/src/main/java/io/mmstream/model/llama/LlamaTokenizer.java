package io.mmstream.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tokenizer.HfLlamaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A LLaMA directory's tokenizer as transformers 4.37's slow {@code LlamaTokenizer} with {@code legacy=False}
 * uses it (LLaVA-1.5): {@link HfLlamaTokenizer} with what tokenizer_config.json adds: whether {@code <s>} leads,
 * which tokens {@code skip_special_tokens} leaves out, and the refusal of legacy configs, whose rules differ.
 */
public final class LlamaTokenizer {
  private final HfLlamaTokenizer encoder;
  /** The ids of unk, bos, eos and pad: transformers' {@code all_special_ids}. */
  private final Set<Long> specialIds;
  private final boolean addBos;

  private LlamaTokenizer(HfLlamaTokenizer encoder, Set<Long> specialIds, boolean addBos) {
    this.encoder = encoder;
    this.specialIds = Set.copyOf(specialIds);
    this.addBos = addBos;
  }

  /**
   * {@code tokenizer.model} with {@code added_tokens.json} and {@code tokenizer_config.json} of {@code dir};
   * refuses a config that is not {@code legacy: false}, whose rules differ.
   */
  public static LlamaTokenizer open(Path dir) throws IOException {
    Path configFile = dir.resolve("tokenizer_config.json");
    JsonNode config = Files.isRegularFile(configFile) ? new ObjectMapper().readTree(configFile.toFile())
        : new ObjectMapper().createObjectNode();
    if (config.path("legacy").asBoolean(true)) {
      throw new IOException(configFile + ": only legacy=false LLaMA tokenizers are supported (legacy is "
          + config.path("legacy") + ")");
    }
    Map<String, Integer> added = new HashMap<>();
    config.path("added_tokens_decoder").fields().forEachRemaining(
        e -> added.put(e.getValue().path("content").asText(), Integer.parseInt(e.getKey())));
    Set<Long> special = new HashSet<>();
    for (String name : List.of("unk_token", "bos_token", "eos_token", "pad_token")) {
      JsonNode token = config.path(name);
      String content = token.isObject() ? token.path("content").asText() : token.asText("");
      Integer id = added.get(content);
      if (id != null) {
        special.add(id.longValue());
      }
    }
    HfLlamaTokenizer encoder = HfLlamaTokenizer.open(dir);
    if (special.isEmpty()) {
      // A config without added_tokens_decoder: the sentencepiece model's own unk, bos and eos.
      for (int id : new int[] {encoder.pieces().unkId(), encoder.pieces().bosId(), encoder.pieces().eosId()}) {
        if (id >= 0) {
          special.add((long) id);
        }
      }
    }
    return new LlamaTokenizer(encoder, special, config.path("add_bos_token").asBoolean(true));
  }

  /** {@code tokenizer(text).input_ids}: {@code <s>} first when the config adds it. */
  public long[] encode(String text) {
    int[] ids = encoder.encode(text, addBos);
    long[] out = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = ids[i];
    }
    return out;
  }

  /**
   * {@code tokenizer.decode(ids, skip_special_tokens=skipSpecial)}: {@link HfLlamaTokenizer#decode} after the
   * special ids are taken out when asked.
   */
  public String decode(long[] ids, boolean skipSpecial) {
    return encoder.decode(Arrays.stream(ids)
        .filter(id -> !(skipSpecial && specialIds.contains(id)))
        .mapToInt(Math::toIntExact)
        .toArray());
  }
}
