package io.mmstream.image;

import io.mmstream.config.Setting;
import java.util.List;

/** Limits on image bytes, pixels and fetching. */
public final class ImageSettings {
  private ImageSettings() {}

  public static final Setting<Integer> MAX_INLINE_BYTES = Setting.integer("mmstream.images.max-inline-bytes",
      8 * 1024 * 1024, "Largest image carried inline in an ImageEvent");
  public static final Setting<Integer> MAX_FETCH_BYTES = Setting.integer("mmstream.images.max-fetch-bytes",
      8 * 1024 * 1024, "Largest image body fetched from a URI (the download stops there)");
  public static final Setting<Long> MAX_PIXELS = Setting.longValue("mmstream.images.max-pixels", 40_000_000L,
      "Largest width x height decoded (checked from the header, before decoding)");
  public static final Setting<Integer> MAX_DIMENSION = Setting.integer("mmstream.images.max-dimension", 16_384,
      "Largest width or height");
  public static final Setting<Long> FETCH_CONNECT_TIMEOUT_MS = Setting.longValue(
      "mmstream.fetch.connect-timeout-ms", 3_000, "TCP/TLS connect timeout of image fetches");
  public static final Setting<Long> FETCH_READ_TIMEOUT_MS = Setting.longValue("mmstream.fetch.read-timeout-ms",
      5_000, "Longest wait for response headers or for the next body bytes (stall)");
  public static final Setting<Long> FETCH_TOTAL_TIMEOUT_MS = Setting.longValue("mmstream.fetch.total-timeout-ms",
      15_000, "Longest time for a whole fetch, redirects included");
  public static final Setting<Integer> FETCH_MAX_REDIRECTS = Setting.integer("mmstream.fetch.max-redirects", 3,
      "Redirects followed per fetch (each hop is checked by the address guard)");
  public static final Setting<Boolean> FETCH_ALLOW_FILE = Setting.bool("mmstream.fetch.allow-file-uris", false,
      "Accept file: URIs (local demos and tests only)");
  public static final Setting<String> FETCH_FILE_ROOT = Setting.string("mmstream.fetch.file-root", "",
      "When file: URIs are allowed, the directory they must lie under; empty: anywhere");
  public static final Setting<List<String>> FETCH_ALLOWED_CIDRS = Setting.list("mmstream.fetch.allowed-cidrs",
      List.of(), "CIDRs exempt from the address guard (e.g. 10.1.2.0/24 for an internal image store)");
}
