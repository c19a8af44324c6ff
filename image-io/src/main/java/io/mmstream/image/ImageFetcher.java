package io.mmstream.image;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fetches image bytes from http(s) URIs (and file: URIs when enabled) within {@link ImageLimits}:
 * the {@link AddressGuard} checks the host of the URI and of every redirect (redirects are followed
 * here, not by the client); the body is counted while it streams and the download is cancelled at
 * the size limit; a connect timeout, a stall timeout (no bytes for the read timeout) and a total
 * timeout bound the time.
 */
public final class ImageFetcher {

  private final ImageLimits limits;
  private final AddressGuard guard;
  private final HttpClient client;

  public ImageFetcher(ImageLimits limits) {
    this.limits = limits;
    this.guard = new AddressGuard(limits.allowedCidrs());
    this.client = HttpClient.newBuilder()
        .connectTimeout(limits.connectTimeout())
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  public FetchedImage fetch(String uri) throws ImageRejectedException {
    try {
      return fetch(new URI(uri));
    } catch (URISyntaxException e) {
      throw new ImageRejectedException(ImageRejectedException.BAD_URI, "not a URI: " + e.getMessage(), e);
    }
  }

  public FetchedImage fetch(URI uri) throws ImageRejectedException {
    long deadline = System.nanoTime() + limits.totalTimeout().toNanos();
    URI current = uri;
    for (int hop = 0; ; hop++) {
      checkAllowed(current);
      if ("file".equals(scheme(current))) {
        return readFile(current);
      }
      HopResult result = get(current, deadline);
      if (result.redirect() == null) {
        return new FetchedImage(current, result.body(), result.contentType());
      }
      if (hop >= limits.maxRedirects()) {
        throw new ImageRejectedException(ImageRejectedException.TOO_MANY_REDIRECTS,
            uri + " redirects more than " + limits.maxRedirects() + " times");
      }
      current = result.redirect();
    }
  }

  /**
   * Scheme and address rules for a URI, without fetching: what the stream application checks before
   * it routes a task.
   */
  public void checkAllowed(URI uri) throws ImageRejectedException {
    String scheme = scheme(uri);
    switch (scheme) {
      case "http", "https" -> {
        if (uri.getHost() == null) {
          throw new ImageRejectedException(ImageRejectedException.BAD_URI, "no host in " + uri);
        }
        guard.check(uri.getHost());
      }
      case "file" -> {
        if (!limits.allowFile()) {
          throw new ImageRejectedException(ImageRejectedException.URI_SCHEME_NOT_ALLOWED,
              "file: URIs are disabled (mmstream.fetch.allow-file-uris)");
        }
        filePath(uri);
      }
      default -> throw new ImageRejectedException(ImageRejectedException.URI_SCHEME_NOT_ALLOWED,
          "scheme '" + scheme + "' is not http, https" + (limits.allowFile() ? " or file" : ""));
    }
  }

  private record HopResult(byte[] body, String contentType, URI redirect) {}

  private HopResult get(URI uri, long deadline) throws ImageRejectedException {
    Duration headerWait = min(limits.readTimeout(), remaining(deadline, uri));
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(headerWait).GET().build();
    BoundedBody body = new BoundedBody(limits.maxFetchBytes());
    CompletableFuture<HttpResponse<byte[]>> future = client.sendAsync(request, body::subscriber);
    try {
      while (true) {
        long waitNanos = Math.min(limits.readTimeout().toNanos(), remaining(deadline, uri).toNanos());
        try {
          HttpResponse<byte[]> response = future.get(waitNanos, TimeUnit.NANOSECONDS);
          return toHopResult(uri, response);
        } catch (TimeoutException e) {
          long idle = System.nanoTime() - body.lastActivityNanos.get();
          if (idle >= limits.readTimeout().toNanos() || System.nanoTime() >= deadline) {
            throw new ImageRejectedException(ImageRejectedException.FETCH_TIMEOUT,
                uri + ": no data for " + Duration.ofNanos(idle).toMillis() + " ms or past the total timeout of "
                    + limits.totalTimeout().toMillis() + " ms");
          }
        }
      }
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof ImageRejectedException rejected) {
        throw rejected;
      }
      if (cause instanceof HttpTimeoutException) {
        throw new ImageRejectedException(ImageRejectedException.FETCH_TIMEOUT, uri + ": " + cause.getMessage(), cause);
      }
      if (cause != null && cause.getCause() instanceof ImageRejectedException rejected) {
        throw rejected;
      }
      throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": interrupted", e);
    } finally {
      body.cancel();
      future.cancel(true);
    }
  }

  private HopResult toHopResult(URI uri, HttpResponse<byte[]> response) throws ImageRejectedException {
    int status = response.statusCode();
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      String location = response.headers().firstValue("location").orElseThrow(() ->
          new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": redirect without a Location"));
      try {
        return new HopResult(null, null, uri.resolve(new URI(location)));
      } catch (URISyntaxException e) {
        throw new ImageRejectedException(ImageRejectedException.BAD_URI, uri + " redirects to a bad URI " + location, e);
      }
    }
    if (status != 200) {
      throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": HTTP " + status);
    }
    return new HopResult(response.body(), response.headers().firstValue("content-type").orElse(null), null);
  }

  /**
   * Collects a response body up to a byte limit. The limit is checked against Content-Length before
   * any byte is read and against the running count while the body streams, so a lying or endless
   * response is cut off at the limit.
   */
  private static final class BoundedBody {
    private final int maxBytes;
    final AtomicLong lastActivityNanos = new AtomicLong(System.nanoTime());
    private volatile Flow.Subscription subscription;

    BoundedBody(int maxBytes) {
      this.maxBytes = maxBytes;
    }

    BodySubscriber<byte[]> subscriber(HttpResponse.ResponseInfo info) {
      lastActivityNanos.set(System.nanoTime());
      if (info.statusCode() != 200) {
        return HttpResponse.BodySubscribers.replacing(null);
      }
      long declared = info.headers().firstValueAsLong("content-length").orElse(-1);
      if (declared > maxBytes) {
        return failing(new ImageRejectedException(ImageRejectedException.TOO_LARGE,
            "Content-Length " + declared + " exceeds the fetch limit of " + maxBytes + " bytes"));
      }
      return new Collector();
    }

    void cancel() {
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }

    private BodySubscriber<byte[]> failing(ImageRejectedException error) {
      return new BodySubscriber<>() {
        private final CompletableFuture<byte[]> result = CompletableFuture.failedFuture(error);

        @Override
        public CompletionStage<byte[]> getBody() {
          return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.cancel();
        }

        @Override
        public void onNext(List<ByteBuffer> item) {}

        @Override
        public void onError(Throwable throwable) {}

        @Override
        public void onComplete() {}
      };
    }

    private final class Collector implements BodySubscriber<byte[]> {
      private final CompletableFuture<byte[]> result = new CompletableFuture<>();
      private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

      @Override
      public CompletionStage<byte[]> getBody() {
        return result;
      }

      @Override
      public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(Long.MAX_VALUE);
      }

      @Override
      public void onNext(List<ByteBuffer> buffers) {
        lastActivityNanos.set(System.nanoTime());
        for (ByteBuffer b : buffers) {
          if (out.size() + (long) b.remaining() > maxBytes) {
            subscription.cancel();
            result.completeExceptionally(new ImageRejectedException(ImageRejectedException.TOO_LARGE,
                "body exceeds the fetch limit of " + maxBytes + " bytes"));
            return;
          }
          byte[] chunk = new byte[b.remaining()];
          b.get(chunk);
          out.write(chunk, 0, chunk.length);
        }
      }

      @Override
      public void onError(Throwable throwable) {
        result.completeExceptionally(throwable);
      }

      @Override
      public void onComplete() {
        result.complete(out.toByteArray());
      }
    }
  }

  private FetchedImage readFile(URI uri) throws ImageRejectedException {
    Path path = filePath(uri);
    try {
      long size = Files.size(path);
      if (size > limits.maxFetchBytes()) {
        throw new ImageRejectedException(ImageRejectedException.TOO_LARGE,
            path + " has " + size + " bytes, over the fetch limit of " + limits.maxFetchBytes());
      }
      try (InputStream in = Files.newInputStream(path)) {
        byte[] bytes = in.readNBytes(limits.maxFetchBytes() + 1);
        if (bytes.length > limits.maxFetchBytes()) {
          throw new ImageRejectedException(ImageRejectedException.TOO_LARGE, path + " grew past the fetch limit");
        }
        return new FetchedImage(uri, bytes, null);
      }
    } catch (NoSuchFileException e) {
      throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, "no such file " + path, e);
    } catch (IOException e) {
      throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, "cannot read " + path + ": " + e, e);
    }
  }

  private Path filePath(URI uri) throws ImageRejectedException {
    Path path;
    try {
      path = Path.of(uri).toAbsolutePath().normalize();
    } catch (IllegalArgumentException e) {
      throw new ImageRejectedException(ImageRejectedException.BAD_URI, "bad file URI " + uri, e);
    }
    String root = limits.fileRoot();
    if (root != null && !root.isBlank() && !path.startsWith(Path.of(root).toAbsolutePath().normalize())) {
      throw new ImageRejectedException(ImageRejectedException.FORBIDDEN_ADDRESS,
          path + " is outside mmstream.fetch.file-root " + root);
    }
    return path;
  }

  private static String scheme(URI uri) {
    return uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
  }

  private static Duration remaining(long deadline, URI uri) throws ImageRejectedException {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new ImageRejectedException(ImageRejectedException.FETCH_TIMEOUT, uri + ": total timeout reached");
    }
    return Duration.ofNanos(left);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
