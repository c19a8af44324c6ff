package io.mmstream.worker;

import com.sun.net.httpserver.HttpServer;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Arrays;

/** Images and image addresses a worker must refuse, and a local image server for URI sources. */
final class PoisonImages {
  /** Loopback is refused by the address guard unless allow-listed; tests allow it for their server. */
  static final String LOOPBACK_CIDR = "127.0.0.1/32";
  /** A private (RFC 1918) address: refused by the address guard before any connection. */
  static final String PRIVATE_URI = "http://10.20.30.40/image.png";

  private PoisonImages() {}

  static byte[] corrupt() {
    byte[] bytes = WorkerTestKit.png(7, 40, 30).clone();
    for (int i = 60; i < bytes.length - 20; i++) {
      bytes[i] = (byte) (bytes[i] ^ 0x5A);
    }
    return bytes;
  }

  static byte[] truncated() {
    byte[] jpeg = WorkerTestKit.encode(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB), "jpeg");
    return Arrays.copyOf(jpeg, jpeg.length / 2);
  }

  /** A valid PNG header declaring 10000 x 10000 pixels (within the side limit), with almost no data after it. */
  static byte[] pixelBomb() {
    byte[] bomb = WorkerTestKit.png(1, 2, 2).clone();
    // IHDR width and height sit at bytes 16..23; the CRC after them is left stale, which the
    // header check must not need.
    writeInt(bomb, 16, 10_000);
    writeInt(bomb, 20, 10_000);
    return bomb;
  }

  /** Larger than 64 KiB. */
  static byte[] oversized() {
    return WorkerTestKit.png(3, 400, 300);
  }

  private static void writeInt(byte[] b, int at, int value) {
    b[at] = (byte) (value >>> 24);
    b[at + 1] = (byte) (value >>> 16);
    b[at + 2] = (byte) (value >>> 8);
    b[at + 3] = (byte) value;
  }

  /** A URI on loopback where nothing listens: the connection is refused. */
  static String unreachableUri() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    return "http://127.0.0.1:" + port + "/image.png";
  }

  /** Serves {@code png} at /image.png on loopback; the caller stops it. */
  static HttpServer serve(byte[] png) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/image.png", exchange -> {
      exchange.getResponseHeaders().add("Content-Type", "image/png");
      exchange.sendResponseHeaders(200, png.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(png);
      }
    });
    server.start();
    return server;
  }

  static String uri(HttpServer server) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/image.png";
  }
}
