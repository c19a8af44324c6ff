package io.mmstream.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.util.Timeout;

/**
 * Fetches image bytes from http(s) URIs (and file: URIs when enabled) within {@link ImageLimits}.
 * The {@link AddressGuard} is the HTTP client's DNS resolver: every connection, the first and each
 * redirect's (redirects are followed here, not by the client), goes only to addresses the guard has
 * just checked, so a name that resolves to several addresses is refused when any is forbidden, and
 * DNS rebinding cannot swap in another address between check and connect. The body is counted while
 * it streams and the download stops at the size limit; a connect timeout, a stall timeout (no bytes
 * for the read timeout) and a total deadline (the request is aborted when it passes) bound the time.
 */
public final class ImageFetcher {

  /** Aborts requests at their total deadline; one daemon thread for every fetcher in the JVM. */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlineTimer();

  private final ImageLimits limits;
  private final AddressGuard guard;
  private final CloseableHttpClient client;

  public ImageFetcher(ImageLimits limits) {
    this(limits, AddressGuard.Resolver.SYSTEM);
  }

  /** A fetcher whose names are resolved by {@code resolver} (tests script DNS answers with it). */
  public ImageFetcher(ImageLimits limits, AddressGuard.Resolver resolver) {
    this.limits = limits;
    this.guard = new AddressGuard(limits.allowedCidrs(), resolver);
    this.client = HttpClients.custom()
        .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
            .setDnsResolver(new GuardedResolver(guard))
            .setDefaultConnectionConfig(ConnectionConfig.custom()
                .setConnectTimeout(Timeout.of(limits.connectTimeout()))
                .setSocketTimeout(Timeout.of(limits.readTimeout()))
                .build())
            .build())
        .setDefaultRequestConfig(RequestConfig.custom().setResponseTimeout(Timeout.of(limits.readTimeout())).build())
        // Every fetch opens its own connection: nothing pooled outlives a fetch or its address check.
        .setConnectionReuseStrategy((request, response, context) -> false)
        .disableRedirectHandling()
        .disableAutomaticRetries()
        // A compressed body would be inflated past what the size limit counts on the wire.
        .disableContentCompression()
        .disableCookieManagement()
        .disableAuthCaching()
        .setUserAgent("mmstream-image-fetcher")
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
      if ("file".equals(checkScheme(current))) {
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
    if (!"file".equals(checkScheme(uri))) {
      guard.check(uri.getHost());
    }
  }

  /** The URI's scheme when it may be fetched at all (the host's addresses are checked at connect). */
  private String checkScheme(URI uri) throws ImageRejectedException {
    String scheme = scheme(uri);
    switch (scheme) {
      case "http", "https" -> {
        if (uri.getHost() == null) {
          // java.net.URI gives no host for some numeric forms (0x7f.0.0.1, 127.1): name the real reason.
          String authority = uri.getRawAuthority();
          if (authority != null) {
            String host = authority.substring(authority.lastIndexOf('@') + 1).replaceFirst(":[0-9]*$", "");
            AddressGuard.refuseNonCanonicalIpv4(host);
          }
          throw new ImageRejectedException(ImageRejectedException.BAD_URI, "no host in " + uri);
        }
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
    return scheme;
  }

  private record HopResult(byte[] body, String contentType, URI redirect) {}

  private HopResult get(URI uri, long deadline) throws ImageRejectedException {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new ImageRejectedException(ImageRejectedException.FETCH_TIMEOUT, uri + ": total timeout reached");
    }
    HttpGet request = new HttpGet(uri);
    ScheduledFuture<?> abortAtDeadline = DEADLINES.schedule(request::cancel, left, TimeUnit.NANOSECONDS);
    ClassicHttpResponse response = null;
    try {
      response = client.executeOpen(null, request, null);
      return toHopResult(uri, response);
    } catch (IOException e) {
      throw failure(uri, e, deadline);
    } finally {
      abortAtDeadline.cancel(false);
      // Drops the connection of a body that was not read to its end (too large, redirect, error).
      request.cancel();
      closeQuietly(response);
    }
  }

  private HopResult toHopResult(URI uri, ClassicHttpResponse response) throws ImageRejectedException, IOException {
    int status = response.getCode();
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      Header location = response.getFirstHeader("Location");
      if (location == null) {
        throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": redirect without a Location");
      }
      try {
        return new HopResult(null, null, uri.resolve(new URI(location.getValue())));
      } catch (URISyntaxException e) {
        throw new ImageRejectedException(ImageRejectedException.BAD_URI,
            uri + " redirects to a bad URI " + location.getValue(), e);
      }
    }
    if (status != 200) {
      throw new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": HTTP " + status);
    }
    Header contentType = response.getFirstHeader("Content-Type");
    return new HopResult(readBody(response.getEntity()), contentType == null ? null : contentType.getValue(), null);
  }

  /**
   * The body up to the byte limit: checked against Content-Length before any byte is read and
   * against the running count while it streams, so a lying or endless response is cut off.
   */
  private byte[] readBody(HttpEntity entity) throws ImageRejectedException, IOException {
    if (entity == null) {
      return new byte[0];
    }
    int max = limits.maxFetchBytes();
    if (entity.getContentLength() > max) {
      throw new ImageRejectedException(ImageRejectedException.TOO_LARGE,
          "Content-Length " + entity.getContentLength() + " exceeds the fetch limit of " + max + " bytes");
    }
    try (InputStream in = entity.getContent()) {
      byte[] body = in.readNBytes(max + 1);
      if (body.length > max) {
        throw new ImageRejectedException(ImageRejectedException.TOO_LARGE,
            "body exceeds the fetch limit of " + max + " bytes");
      }
      return body;
    }
  }

  private ImageRejectedException failure(URI uri, IOException e, long deadline) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RefusedHost refused) {
        return refused.rejection;
      }
    }
    if (System.nanoTime() - deadline >= 0) {
      return new ImageRejectedException(ImageRejectedException.FETCH_TIMEOUT,
          uri + ": past the total timeout of " + limits.totalTimeout().toMillis() + " ms", e);
    }
    if (e instanceof InterruptedIOException) {
      // Socket read and connect timeouts: no bytes within the read (stall) or connect timeout.
      return new ImageRejectedException(ImageRejectedException.FETCH_TIMEOUT, uri + ": " + e, e);
    }
    if (e instanceof UnknownHostException) {
      return new ImageRejectedException(ImageRejectedException.UNKNOWN_HOST, "cannot resolve " + uri.getHost(), e);
    }
    return new ImageRejectedException(ImageRejectedException.FETCH_FAILED, uri + ": " + e, e);
  }

  private static void closeQuietly(ClassicHttpResponse response) {
    if (response != null) {
      try {
        response.close();
      } catch (IOException alreadyFailed) {
        // the connection is discarded either way
      }
    }
  }

  /** The HTTP client's resolver: the guard's checked answer, or a refusal that carries the guard's reason. */
  private static final class GuardedResolver implements DnsResolver {
    private final AddressGuard guard;

    GuardedResolver(AddressGuard guard) {
      this.guard = guard;
    }

    @Override
    public InetAddress[] resolve(String host) throws UnknownHostException {
      try {
        return guard.check(host).toArray(InetAddress[]::new);
      } catch (ImageRejectedException e) {
        throw new RefusedHost(e);
      }
    }

    @Override
    public String resolveCanonicalHostname(String host) {
      return host;
    }
  }

  /** DnsResolver may only throw UnknownHostException; this one carries the guard's rejection out. */
  private static final class RefusedHost extends UnknownHostException {
    final transient ImageRejectedException rejection;

    RefusedHost(ImageRejectedException rejection) {
      super(rejection.getMessage());
      this.rejection = rejection;
    }
  }

  private static ScheduledThreadPoolExecutor deadlineTimer() {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread thread = new Thread(r, "mmstream-fetch-deadlines");
      thread.setDaemon(true);
      return thread;
    });
    timer.setRemoveOnCancelPolicy(true);
    return timer;
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
}
