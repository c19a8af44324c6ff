package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.Settings;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.ImageRejectedException;
import io.mmstream.image.ImageSettings;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.TaskRequest;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzzes the worker's image loading (the step before any model): inline bytes that are valid images
 * of every format, or the same truncated, bit-flipped, replaced by noise, or claiming huge sizes, with
 * matching, wrong or missing content types. Each must decode or be refused with a decode-stage
 * reason, within a bounded time; no other exception may escape. Fixed seed and number of tries.
 */
class ImageLoaderFuzzTest {

  private static final long PER_IMAGE_TIMEOUT_SECONDS = 20;
  private static final Set<String> DECODE_REASONS = Set.of(ImageRejectedException.EMPTY_IMAGE,
      ImageRejectedException.TOO_LARGE, ImageRejectedException.TOO_MANY_PIXELS,
      ImageRejectedException.DIMENSIONS_TOO_LARGE, ImageRejectedException.NOT_AN_IMAGE,
      ImageRejectedException.UNSUPPORTED_FORMAT, ImageRejectedException.CONTENT_TYPE_MISMATCH,
      ImageRejectedException.CORRUPT_IMAGE);

  private static final List<byte[]> VALID = List.of(
      WorkerTestKit.png(11, 24, 16),
      WorkerTestKit.encode(new BufferedImage(24, 16, BufferedImage.TYPE_INT_RGB), "jpeg"),
      WorkerTestKit.encode(new BufferedImage(24, 16, BufferedImage.TYPE_INT_RGB), "gif"),
      WorkerTestKit.encode(new BufferedImage(24, 16, BufferedImage.TYPE_INT_RGB), "bmp"),
      // 24x16 lossless WebP made by libwebp's cwebp (no WebP encoder in the JDK)
      Base64.getDecoder().decode("UklGRjgAAABXRUJQVlA4TCwAAAAvF8ADAA8Q87//8x8OFLdtGzmTZTSPnG8PA/plhoj+J/tAYcVK61ixQsGwAA=="));

  private final ImageLoader loader = new ImageLoader(ImageLimits.from(Settings.of(Map.of(
      ImageSettings.MAX_INLINE_BYTES.key(), "65536", ImageSettings.MAX_PIXELS.key(), "1000000"))));
  private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
    Thread thread = new Thread(r, "fuzz-image-loader");
    thread.setDaemon(true);
    return thread;
  });

  @AfterProperty
  void stop() {
    runner.shutdownNow();
  }

  @Property(tries = 500, seed = "20261125", afterFailure = AfterFailureMode.RANDOM_SEED)
  void everyImageDecodesOrIsRefusedWithADecodeReason(@ForAll("images") byte[] image,
      @ForAll("contentTypes") String contentType) throws Exception {
    TaskRequest task = WorkerTestKit.task("fuzz", image);
    task.setContentType(contentType);
    Future<PixelImage> loaded = runner.submit(() -> loader.load(task));
    String outcome;
    try {
      PixelImage pixels = loaded.get(PER_IMAGE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(pixels.pixels()).hasSize(pixels.width() * pixels.height() * pixels.channels());
      outcome = "decoded";
    } catch (TimeoutException e) {
      loaded.cancel(true);
      throw new AssertionError("image of " + image.length + " bytes not loaded within " + PER_IMAGE_TIMEOUT_SECONDS + " s");
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(TaskRejectedException.class);
      TaskRejectedException rejected = (TaskRejectedException) e.getCause();
      assertThat(rejected.stage()).isEqualTo("decode");
      assertThat(rejected.reasonCode()).isIn(DECODE_REASONS);
      outcome = rejected.reasonCode();
    }
    Statistics.label("outcome").collect(outcome);
    Statistics.label("outcome").coverage(c -> {
      c.check("decoded").percentage(p -> p >= 10);
      for (String reason : List.of(ImageRejectedException.CORRUPT_IMAGE, ImageRejectedException.NOT_AN_IMAGE,
          ImageRejectedException.TOO_MANY_PIXELS, ImageRejectedException.TOO_LARGE)) {
        c.check(reason).count(n -> n > 0);
      }
    });
  }

  @Provide
  Arbitrary<byte[]> images() {
    Arbitrary<byte[]> valid = Arbitraries.of(VALID);
    Arbitrary<byte[]> truncated = Combinators.combine(valid, Arbitraries.doubles().between(0, 1))
        .as((b, f) -> Arrays.copyOf(b, (int) (b.length * f)));
    Arbitrary<byte[]> flipped = Combinators.combine(valid, Arbitraries.integers().greaterOrEqual(0),
        Arbitraries.integers().between(1, 255)).as((b, at, mask) -> {
          byte[] c = b.clone();
          c[at % c.length] ^= (byte) (int) mask;
          return c;
        });
    Arbitrary<byte[]> bombs = Combinators.combine(Arbitraries.integers().between(1, 1 << 20),
        Arbitraries.integers().between(1, 1 << 20)).as((w, h) -> {
          byte[] png = VALID.get(0).clone();
          ByteBuffer.wrap(png, 16, 8).putInt(w).putInt(h);
          return png;
        });
    return Arbitraries.frequencyOf(Tuple.of(3, valid), Tuple.of(2, truncated), Tuple.of(3, flipped),
        Tuple.of(1, bombs), Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(200)),
        Tuple.of(1, Arbitraries.just(new byte[70_000])));
  }

  @Provide
  Arbitrary<String> contentTypes() {
    return Arbitraries.of("image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp", "text/html")
        .injectNull(0.6);
  }
}
