package io.mmstream.model.opt;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * OPT's GPT-2 byte-level BPE ({@code GPT2Tokenizer} with {@code add_bos_token}: {@code </s>} starts every text), through
 * the HF tokenizers library. Reads {@code tokenizer.json}; a directory with only the slow files ({@code vocab.json},
 * {@code merges.txt}, {@code tokenizer_config.json}) gets the same pipeline built in memory, as transformers'
 * {@code convert_slow_tokenizer} builds it, because the library reads only the fast format.
 */
public final class OptTokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> OPTIONS =
      Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");

  private final HuggingFaceTokenizer tokenizer;

  private OptTokenizer(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  public static OptTokenizer open(Path modelDirectory) throws IOException {
    Path json = modelDirectory.resolve("tokenizer.json");
    if (Files.isRegularFile(json)) {
      return new OptTokenizer(HuggingFaceTokenizer.newInstance(json, OPTIONS));
    }
    if (!Files.isRegularFile(modelDirectory.resolve("vocab.json"))
        || !Files.isRegularFile(modelDirectory.resolve("merges.txt"))) {
      throw new IOException(modelDirectory + ": no tokenizer.json and no vocab.json + merges.txt");
    }
    byte[] built = JSON.writeValueAsBytes(fastTokenizerJson(modelDirectory));
    return new OptTokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(built), OPTIONS));
  }

  /** The fast-tokenizer document equivalent to the slow GPT-2 files of {@code dir}. */
  static ObjectNode fastTokenizerJson(Path dir) throws IOException {
    JsonNode vocab = JSON.readTree(dir.resolve("vocab.json").toFile());
    Path configFile = dir.resolve("tokenizer_config.json");
    JsonNode config = Files.isRegularFile(configFile) ? JSON.readTree(configFile.toFile()) : JSON.createObjectNode();
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    Iterator<Map.Entry<String, JsonNode>> decoder = config.path("added_tokens_decoder").fields();
    while (decoder.hasNext()) {
      Map.Entry<String, JsonNode> e = decoder.next();
      JsonNode t = e.getValue();
      ObjectNode token = added.addObject();
      token.put("id", Integer.parseInt(e.getKey()));
      token.put("content", t.path("content").asText());
      token.put("single_word", t.path("single_word").asBoolean(false));
      token.put("lstrip", t.path("lstrip").asBoolean(false));
      token.put("rstrip", t.path("rstrip").asBoolean(false));
      token.put("normalized", t.path("normalized").asBoolean(true));
      token.put("special", t.path("special").asBoolean(true));
    }
    Path addedFile = dir.resolve("added_tokens.json");
    if (Files.isRegularFile(addedFile)) {
      Iterator<Map.Entry<String, JsonNode>> extra = JSON.readTree(addedFile.toFile()).fields();
      while (extra.hasNext()) {
        Map.Entry<String, JsonNode> e = extra.next();
        boolean known = false;
        for (JsonNode t : added) {
          known |= t.path("id").asInt() == e.getValue().asInt();
        }
        if (!known) {
          ObjectNode token = added.addObject();
          token.put("id", e.getValue().asInt());
          token.put("content", e.getKey());
          token.put("single_word", false);
          token.put("lstrip", false);
          token.put("rstrip", false);
          token.put("normalized", false);
          token.put("special", true);
        }
      }
    }
    root.putNull("normalizer");
    boolean prefixSpace = config.path("add_prefix_space").asBoolean(false);
    root.set("pre_tokenizer", byteLevel(prefixSpace));
    if (config.path("add_bos_token").asBoolean(true)) {
      String bos = textOf(config.path("bos_token"), "</s>");
      ObjectNode post = root.putObject("post_processor");
      post.put("type", "TemplateProcessing");
      post.set("single", template(bos, "A"));
      ArrayNode pair = template(bos, "A");
      pair.addAll(template(bos, "B"));
      post.set("pair", pair);
      ObjectNode special = post.putObject("special_tokens").putObject(bos);
      special.put("id", bos);
      special.putArray("ids").add(vocab.path(bos).asInt());
      special.putArray("tokens").add(bos);
    } else {
      root.putNull("post_processor");
    }
    root.set("decoder", byteLevel(true));
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.put("continuing_subword_prefix", "");
    model.put("end_of_word_suffix", "");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.set("vocab", vocab);
    ArrayNode merges = model.putArray("merges");
    List<String> lines = Files.readAllLines(dir.resolve("merges.txt"), StandardCharsets.UTF_8);
    for (String line : lines) {
      if (!line.isBlank() && !line.startsWith("#version")) {
        merges.add(line);
      }
    }
    return root;
  }

  private static ObjectNode byteLevel(boolean prefixSpace) {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", "ByteLevel");
    node.put("add_prefix_space", prefixSpace);
    node.put("trim_offsets", true);
    node.put("use_regex", true);
    return node;
  }

  private static ArrayNode template(String bos, String sequence) {
    ArrayNode out = JSON.createArrayNode();
    ObjectNode special = out.addObject().putObject("SpecialToken");
    special.put("id", bos);
    special.put("type_id", 0);
    ObjectNode seq = out.addObject().putObject("Sequence");
    seq.put("id", sequence);
    seq.put("type_id", 0);
    return out;
  }

  /** A special token written either as a string or as an AddedToken object. */
  private static String textOf(JsonNode token, String fallback) {
    if (token.isTextual()) {
      return token.asText();
    }
    return token.path("content").asText(fallback);
  }

  /** Ids of {@code text} with the bos ({@code </s>}) first. */
  public long[] encode(String text) {
    return tokenizer.encode(text).getIds();
  }

  /** Ids of {@code text} without special tokens (an answer continuation such as " yes"). */
  public long[] encodePlain(String text) {
    return tokenizer.encode(text, false, false).getIds();
  }

  /** Text of ids without special tokens. */
  public String decode(long[] ids) {
    return tokenizer.decode(ids, true);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
