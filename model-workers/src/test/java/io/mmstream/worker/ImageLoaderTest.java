package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.ImageSettings;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.TaskRequest;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ImageLoaderTest {
  private static final byte[] PNG = WorkerTestKit.png(5, 40, 30);
  private static HttpServer server;
  private static ImageLoader loader;

  @BeforeAll
  static void start() throws Exception {
    server = PoisonImages.serve(PNG);
    loader = new ImageLoader(ImageLimits.from(Settings.of(Map.of(
        ImageSettings.MAX_INLINE_BYTES.key(), String.valueOf(64 * 1024),
        ImageSettings.MAX_PIXELS.key(), "1000000",
        ImageSettings.FETCH_ALLOWED_CIDRS.key(), PoisonImages.LOOPBACK_CIDR))));
  }

  @AfterAll
  static void stop() {
    server.stop(0);
  }

  @Test
  void decodesInlineAndFetchedImages() throws Exception {
    PixelImage inline = loader.load(WorkerTestKit.task("inline", PNG));
    PixelImage fetched = loader.load(uriTask(PoisonImages.uri(server)));
    for (PixelImage image : new PixelImage[] {inline, fetched}) {
      assertThat(image.width()).isEqualTo(40);
      assertThat(image.height()).isEqualTo(30);
      assertThat(image.channels()).isEqualTo(3);
    }
    assertThat(fetched.pixels()).isEqualTo(inline.pixels());
  }

  @Test
  void rejectsPoisonWithImageIoReasonsAndTheStage() throws Exception {
    assertThat(PoisonImages.oversized().length).isGreaterThan(64 * 1024);
    assertRejected(WorkerTestKit.task("big", PoisonImages.oversized()), "decode", "TOO_LARGE");
    assertRejected(WorkerTestKit.task("bomb", PoisonImages.pixelBomb()), "decode", "TOO_MANY_PIXELS");
    assertRejected(WorkerTestKit.task("corrupt", PoisonImages.corrupt()), "decode", "CORRUPT_IMAGE");
    assertRejected(WorkerTestKit.task("truncated", PoisonImages.truncated()), "decode", "CORRUPT_IMAGE");
    assertRejected(WorkerTestKit.task("text", "not an image".getBytes()), "decode", "NOT_AN_IMAGE");
    assertRejected(uriTask(PoisonImages.PRIVATE_URI), "fetch", "FORBIDDEN_ADDRESS");
    assertRejected(uriTask(PoisonImages.unreachableUri()), "fetch", "FETCH_FAILED");
    assertRejected(uriTask("ftp://example.com/x.png"), "fetch", "URI_SCHEME_NOT_ALLOWED");
  }

  static TaskRequest uriTask(String uri) {
    TaskRequest task = WorkerTestKit.task("uri", new byte[0]);
    task.setSource(new ImageUri(uri));
    return task;
  }

  private static void assertRejected(TaskRequest request, String stage, String reason) {
    assertThatThrownBy(() -> loader.load(request))
        .isInstanceOfSatisfying(TaskRejectedException.class, e -> {
          assertThat(e.reasonCode()).as(request.getTaskId()).isEqualTo(reason);
          assertThat(e.stage()).as(request.getTaskId()).isEqualTo(stage);
        });
  }
}
