package io.mmstream.image;

import static io.mmstream.image.ImageDecoderTest.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.mmstream.config.Settings;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fetches from a loopback HTTP server; 127.0.0.1 is allow-listed so the other guards can be seen at work. */
class ImageFetcherTest {

  private static HttpServer server;
  private static ExecutorService executor;
  private static final CountDownLatch RELEASE = new CountDownLatch(1);
  private static final byte[] PNG = TestImages.encode("png", 16, 16);
  private static final AtomicInteger REQUESTS = new AtomicInteger();
  private static String base;

  @BeforeAll
  static void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    executor = Executors.newCachedThreadPool();
    server.setExecutor(executor);
    server.createContext("/image.png", x -> {
      REQUESTS.incrementAndGet();
      x.getResponseHeaders().add("Content-Type", "image/png");
      x.sendResponseHeaders(200, PNG.length);
      x.getResponseBody().write(PNG);
      x.close();
    });
    server.createContext("/big", x -> {
      x.sendResponseHeaders(200, 5000);
      x.getResponseBody().write(new byte[5000]);
      x.close();
    });
    server.createContext("/endless", x -> {
      x.sendResponseHeaders(200, 0);
      try (OutputStream out = x.getResponseBody()) {
        byte[] chunk = new byte[1024];
        for (int i = 0; i < 100_000; i++) {
          out.write(chunk);
        }
      } catch (IOException clientWentAway) {
        // expected: the fetcher cancels at its limit
      }
    });
    server.createContext("/stall", x -> {
      x.sendResponseHeaders(200, 0);
      x.getResponseBody().write(new byte[] {1, 2, 3});
      x.getResponseBody().flush();
      await();
      x.close();
    });
    server.createContext("/drip", x -> {
      x.sendResponseHeaders(200, 0);
      try (OutputStream out = x.getResponseBody()) {
        // one byte every 200 ms: never a stall, never over the size limit, never done
        while (RELEASE.getCount() > 0) {
          out.write(0);
          out.flush();
          RELEASE.await(200, TimeUnit.MILLISECONDS);
        }
      } catch (IOException | InterruptedException clientWentAway) {
        // expected: the fetcher aborts at its total deadline
      }
    });
    server.createContext("/no-headers", x -> {
      await();
      x.close();
    });
    server.createContext("/redirect-ok", x -> redirect(x, base + "/image.png"));
    server.createContext("/redirect-metadata", x -> redirect(x, "http://169.254.169.254/latest/meta-data/"));
    server.createContext("/redirect-private", x -> redirect(x, "http://10.0.0.5/image.png"));
    server.createContext("/loop", x -> redirect(x, base + "/loop"));
    server.createContext("/missing", x -> {
      x.sendResponseHeaders(404, -1);
      x.close();
    });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterAll
  static void stopServer() {
    RELEASE.countDown();
    server.stop(0);
    executor.shutdownNow();
  }

  private static void redirect(com.sun.net.httpserver.HttpExchange x, String location) throws IOException {
    x.getResponseHeaders().add("Location", location);
    x.sendResponseHeaders(302, -1);
    x.close();
  }

  private static void await() {
    try {
      RELEASE.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ImageFetcher fetcher(Map<String, String> extra) {
    Map<String, String> s = new HashMap<>(Map.of(
        "mmstream.fetch.allowed-cidrs", "127.0.0.1/32",
        "mmstream.images.max-fetch-bytes", "4096",
        "mmstream.fetch.read-timeout-ms", "1000",
        "mmstream.fetch.total-timeout-ms", "4000"));
    s.putAll(extra);
    return new ImageFetcher(ImageLimits.from(Settings.of(s)));
  }

  private final ImageFetcher fetcher = fetcher(Map.of());

  @Test
  void fetchesAnImageAndFollowsAnAllowedRedirect() throws Exception {
    FetchedImage direct = fetcher.fetch(base + "/image.png");
    assertThat(direct.bytes()).isEqualTo(PNG);
    assertThat(direct.contentType()).isEqualTo("image/png");
    assertThat(fetcher.fetch(base + "/redirect-ok").bytes()).isEqualTo(PNG);
  }

  @Test
  void loopbackIsRefusedWithoutTheAllowList() {
    ImageFetcher strict = new ImageFetcher(ImageLimits.defaults());
    assertRejected(() -> strict.fetch(base + "/image.png"), ImageRejectedException.FORBIDDEN_ADDRESS);
    assertRejected(() -> strict.fetch("http://localhost:1/x.png"), ImageRejectedException.FORBIDDEN_ADDRESS);
  }

  @Test
  void redirectsToForbiddenAddressesAreRefused() {
    assertRejected(() -> fetcher.fetch(base + "/redirect-metadata"), ImageRejectedException.FORBIDDEN_ADDRESS);
    assertRejected(() -> fetcher.fetch(base + "/redirect-private"), ImageRejectedException.FORBIDDEN_ADDRESS);
    assertRejected(() -> fetcher.fetch(base + "/loop"), ImageRejectedException.TOO_MANY_REDIRECTS);
  }

  @Test
  void sizeLimitCutsDeclaredAndEndlessBodies() {
    assertRejected(() -> fetcher.fetch(base + "/big"), ImageRejectedException.TOO_LARGE);
    assertRejected(() -> fetcher.fetch(base + "/endless"), ImageRejectedException.TOO_LARGE);
  }

  @Test
  void stalledBodiesAndMissingHeadersTimeOut() {
    assertRejected(() -> fetcher.fetch(base + "/stall"), ImageRejectedException.FETCH_TIMEOUT);
    assertRejected(() -> fetcher.fetch(base + "/no-headers"), ImageRejectedException.FETCH_TIMEOUT);
  }

  @Test
  void aBodyThatTricklesForeverIsAbortedAtTheTotalDeadline() {
    ImageFetcher impatient = fetcher(Map.of("mmstream.fetch.total-timeout-ms", "1500"));
    assertRejected(() -> impatient.fetch(base + "/drip"), ImageRejectedException.FETCH_TIMEOUT);
  }

  /** DNS answers scripted per name: each lookup takes the next answer (the last one repeats). */
  private static AddressGuard.Resolver scriptedDns(Map<String, List<List<String>>> answers) {
    Map<String, Deque<List<String>>> queues = new HashMap<>();
    answers.forEach((name, list) -> queues.put(name, new ArrayDeque<>(list)));
    return host -> {
      LOOKUPS.incrementAndGet();
      Deque<List<String>> queue = queues.get(host);
      if (queue == null) {
        throw new java.net.UnknownHostException(host);
      }
      List<String> answer = queue.size() > 1 ? queue.poll() : queue.peek();
      InetAddress[] addresses = new InetAddress[answer.size()];
      for (int i = 0; i < addresses.length; i++) {
        addresses[i] = InetAddress.getByAddress(host, InetAddress.getByName(answer.get(i)).getAddress());
      }
      return addresses;
    };
  }

  private static final AtomicInteger LOOKUPS = new AtomicInteger();

  private static ImageFetcher fetcherWithDns(Map<String, List<List<String>>> answers) {
    return new ImageFetcher(ImageLimits.from(Settings.of(Map.of("mmstream.fetch.allowed-cidrs", "127.0.0.1/32"))),
        scriptedDns(answers));
  }

  private static String at(String host, String path) {
    return "http://" + host + ":" + server.getAddress().getPort() + path;
  }

  @Test
  void aNameIsFetchedFromTheAddressItsResolverVetted() throws Exception {
    // "images.test" exists only in the scripted DNS: the fetch can only have connected through it
    ImageFetcher fetcher = fetcherWithDns(Map.of("images.test", List.of(List.of("127.0.0.1"))));
    assertThat(fetcher.fetch(at("images.test", "/image.png")).bytes()).isEqualTo(PNG);
  }

  @Test
  void aNameWithAnyForbiddenAddressIsRefusedBeforeConnecting() {
    ImageFetcher fetcher = fetcherWithDns(Map.of(
        "mixed.test", List.of(List.of("127.0.0.1", "10.0.0.7")),
        "public-and-metadata.test", List.of(List.of("93.184.215.14", "169.254.169.254"))));
    int before = REQUESTS.get();
    assertRejected(() -> fetcher.fetch(at("mixed.test", "/image.png")), ImageRejectedException.FORBIDDEN_ADDRESS);
    assertRejected(() -> fetcher.fetch(at("public-and-metadata.test", "/image.png")),
        ImageRejectedException.FORBIDDEN_ADDRESS);
    assertThat(REQUESTS.get()).as("requests that reached the server").isEqualTo(before);
    assertRejected(() -> fetcher.checkAllowed(java.net.URI.create(at("mixed.test", "/"))),
        ImageRejectedException.FORBIDDEN_ADDRESS);
  }

  @Test
  void rebindingCannotSwapTheAddressBetweenCheckAndConnect() throws Exception {
    // first answer allowed, every later one private: a client that looked the name up again to
    // connect would reach 10.0.0.7 (or fail); this one connects to the answer it checked
    ImageFetcher fetcher = fetcherWithDns(Map.of("rebind.test", List.of(List.of("127.0.0.1"), List.of("10.0.0.7"))));
    int lookups = LOOKUPS.get();
    assertThat(fetcher.fetch(at("rebind.test", "/image.png")).bytes()).isEqualTo(PNG);
    assertThat(LOOKUPS.get() - lookups).as("lookups for one fetch").isEqualTo(1);
    assertRejected(() -> fetcher.fetch(at("rebind.test", "/image.png")), ImageRejectedException.FORBIDDEN_ADDRESS);
  }

  @Test
  void redirectToANameThatResolvesPrivatelyIsRefused() {
    ImageFetcher fetcher = fetcherWithDns(Map.of("cdn.test", List.of(List.of("127.0.0.1")),
        "internal.test", List.of(List.of("192.168.4.4"))));
    server.createContext("/redirect-internal-name", x -> redirect(x, "http://internal.test/secret.png"));
    assertRejected(() -> fetcher.fetch(at("cdn.test", "/redirect-internal-name")),
        ImageRejectedException.FORBIDDEN_ADDRESS);
  }

  @Test
  void httpErrorsAndBadSchemesAreRejected() {
    assertRejected(() -> fetcher.fetch(base + "/missing"), ImageRejectedException.FETCH_FAILED);
    assertRejected(() -> fetcher.fetch("ftp://example.com/a.png"), ImageRejectedException.URI_SCHEME_NOT_ALLOWED);
    assertRejected(() -> fetcher.fetch("file:///etc/passwd"), ImageRejectedException.URI_SCHEME_NOT_ALLOWED);
    assertRejected(() -> fetcher.fetch("http://exa mple.com/"), ImageRejectedException.BAD_URI);
  }

  @Test
  void fileUrisOnlyWhenEnabledAndUnderTheRoot(@TempDir Path dir) throws Exception {
    Path image = dir.resolve("a.png");
    Files.write(image, PNG);
    ImageFetcher files = fetcher(Map.of("mmstream.fetch.allow-file-uris", "true", "mmstream.fetch.file-root", dir.toString()));
    assertThat(files.fetch(image.toUri()).bytes()).isEqualTo(PNG);
    assertRejected(() -> files.fetch("file:///etc/hostname"), ImageRejectedException.FORBIDDEN_ADDRESS);
  }
}
