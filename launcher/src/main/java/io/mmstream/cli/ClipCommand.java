package io.mmstream.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipImagePreprocessor;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.clip.ClipTokenizer;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mmstream clip}: runs a Hugging Face CLIP directory on images and texts, as openai's code
 * would. With {@code --json} it prints one object: input_ids, image_embeds and text_embeds
 * (projected, before normalisation) and logits_per_image.
 */
@Command(
    name = "clip",
    mixinStandardHelpOptions = true,
    description = "Run a CLIP checkpoint (HF layout) on images and texts: embeddings and image-text logits.")
public final class ClipCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, description = "Model directory: config.json, model*.safetensors, tokenizer files.")
  Path model;

  @Option(names = "--image", arity = "1..*", description = "Image files (PNG, JPEG, ...).")
  List<String> images = new ArrayList<>();

  @Option(names = "--text", description = "Texts (repeat the option for each).")
  List<String> texts = new ArrayList<>();

  @Option(names = "--json", description = "Print one JSON object with full float values.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    if (images.isEmpty() && texts.isEmpty()) {
      System.err.println("clip: give at least one --image or --text");
      return 2;
    }
    try (NDManager manager = NDManager.newBaseManager();
        ClipModel clip = ClipModel.load(model, manager);
        ClipTokenizer tokenizer = ClipTokenizer.load(model, clip.config().textConfig().maxPositionEmbeddings())) {
      NDArray imageEmbeds = null;
      if (!images.isEmpty()) {
        ClipImagePreprocessor preprocessor = new ClipImagePreprocessor(clip.config().visionConfig().imageSize());
        List<PixelImage> pixels = new ArrayList<>();
        for (Path file : ImagePaths.expand(images)) {
          pixels.add(read(file));
        }
        imageEmbeds = clip.encodeImage(preprocessor.pixelValues(pixels, manager));
      }
      ClipTokenizer.Batch tokens = null;
      NDArray textEmbeds = null;
      if (!texts.isEmpty()) {
        tokens = tokenizer.encode(texts);
        textEmbeds = clip.encodeText(tokens, manager);
      }
      NDArray logits = imageEmbeds != null && textEmbeds != null ? clip.logits(imageEmbeds, textEmbeds) : null;
      if (json) {
        printJson(tokens, imageEmbeds, textEmbeds, logits);
      } else {
        printTable(logits);
      }
    }
    return 0;
  }

  private static PixelImage read(Path file) throws IOException {
    BufferedImage image = ImageIO.read(file.toFile());
    if (image == null) {
      throw new IOException(file + ": not an image format this JVM can decode");
    }
    return PixelImage.from(image);
  }

  private static void printJson(ClipTokenizer.Batch tokens, NDArray imageEmbeds, NDArray textEmbeds, NDArray logits)
      throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode out = mapper.createObjectNode();
    ArrayNode ids = out.putArray("input_ids");
    if (tokens != null) {
      for (long[] row : tokens.ids()) {
        ArrayNode r = ids.addArray();
        for (long id : row) {
          r.add(id);
        }
      }
    }
    out.set("image_embeds", matrix(mapper, imageEmbeds));
    out.set("text_embeds", matrix(mapper, textEmbeds));
    out.set("logits_per_image", matrix(mapper, logits));
    System.out.println(mapper.writeValueAsString(out));
  }

  private static ArrayNode matrix(ObjectMapper mapper, NDArray array) {
    ArrayNode rows = mapper.createArrayNode();
    if (array == null) {
      return rows;
    }
    int n = (int) array.getShape().get(0);
    float[] flat = array.toFloatArray();
    int width = flat.length / n;
    for (int i = 0; i < n; i++) {
      ArrayNode row = rows.addArray();
      for (int j = 0; j < width; j++) {
        row.add(flat[i * width + j]);
      }
    }
    return rows;
  }

  /** Per image, the texts by softmax probability over the given texts. */
  private void printTable(NDArray logits) {
    if (logits == null) {
      System.out.println("embeddings computed; give both --image and --text for image-text scores (or --json)");
      return;
    }
    float[] probabilities = logits.softmax(-1).toFloatArray();
    for (int i = 0; i < images.size(); i++) {
      System.out.println(images.get(i));
      List<Integer> order = new ArrayList<>();
      for (int t = 0; t < texts.size(); t++) {
        order.add(t);
      }
      int row = i * texts.size();
      order.sort((a, b) -> Float.compare(probabilities[row + b], probabilities[row + a]));
      for (int t : order) {
        System.out.printf("  %6.2f%%  %s%n", 100 * probabilities[row + t], texts.get(t));
      }
    }
  }
}
