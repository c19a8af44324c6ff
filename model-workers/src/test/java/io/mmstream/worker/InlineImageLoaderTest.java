package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.TaskRequest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class InlineImageLoaderTest {
  private final InlineImageLoader loader = new InlineImageLoader(64 * 1024, 1_000_000);

  static byte[] corrupt() {
    byte[] png = WorkerTestKit.png(7, 40, 30);
    byte[] bytes = png.clone();
    for (int i = 60; i < bytes.length - 20; i++) {
      bytes[i] = (byte) (bytes[i] ^ 0x5A);
    }
    return bytes;
  }

  static byte[] truncated() {
    byte[] jpeg = WorkerTestKit.encode(new java.awt.image.BufferedImage(64, 48, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpeg");
    return Arrays.copyOf(jpeg, jpeg.length / 2);
  }

  /** A valid PNG header declaring 30000 x 30000 pixels, with almost no data after it. */
  static byte[] pixelBomb() {
    byte[] png = WorkerTestKit.png(1, 2, 2);
    byte[] bomb = png.clone();
    // IHDR width and height sit at bytes 16..23; the CRC after them is left stale, which the
    // header check must not need.
    writeInt(bomb, 16, 30_000);
    writeInt(bomb, 20, 30_000);
    return bomb;
  }

  private static void writeInt(byte[] b, int at, int value) {
    b[at] = (byte) (value >>> 24);
    b[at + 1] = (byte) (value >>> 16);
    b[at + 2] = (byte) (value >>> 8);
    b[at + 3] = (byte) value;
  }

  static byte[] oversized() {
    return WorkerTestKit.png(3, 400, 300);
  }

  @Test
  void decodesAValidImage() throws Exception {
    PixelImage image = loader.load(WorkerTestKit.task("ok", WorkerTestKit.png(5, 40, 30)));
    assertThat(image.width()).isEqualTo(40);
    assertThat(image.height()).isEqualTo(30);
    assertThat(image.channels()).isEqualTo(3);
  }

  @Test
  void rejectsPoisonImagesWithTheirReason() {
    assertThat(oversized().length).isGreaterThan(64 * 1024);
    assertRejected(WorkerTestKit.task("big", oversized()), "IMAGE_TOO_LARGE");
    assertRejected(WorkerTestKit.task("bomb", pixelBomb()), "PIXEL_LIMIT_EXCEEDED");
    assertRejected(WorkerTestKit.task("corrupt", corrupt()), "CORRUPT_IMAGE");
    assertRejected(WorkerTestKit.task("truncated", truncated()), "CORRUPT_IMAGE");
    assertRejected(WorkerTestKit.task("text", "not an image".getBytes()), "UNSUPPORTED_FORMAT");
    TaskRequest uri = WorkerTestKit.task("uri", new byte[0]);
    uri.setSource(new ImageUri("http://10.0.0.1/x.png"));
    assertRejected(uri, "URI_NOT_SUPPORTED");
  }

  private void assertRejected(TaskRequest request, String reason) {
    assertThatThrownBy(() -> loader.load(request))
        .isInstanceOf(TaskRejectedException.class)
        .satisfies(e -> assertThat(((TaskRejectedException) e).reasonCode()).as(request.getTaskId()).isEqualTo(reason));
  }
}
