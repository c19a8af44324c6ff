package io.mmstream.image;

/**
 * An image (or its URI) that cannot be used, with a reason code for dead-letter entries and task
 * failures. The codes are constants here so producers of DLQ entries and their readers agree.
 */
public class ImageRejectedException extends Exception {

  public static final String EMPTY_IMAGE = "EMPTY_IMAGE";
  public static final String TOO_LARGE = "TOO_LARGE";
  public static final String TOO_MANY_PIXELS = "TOO_MANY_PIXELS";
  public static final String DIMENSIONS_TOO_LARGE = "DIMENSIONS_TOO_LARGE";
  public static final String NOT_AN_IMAGE = "NOT_AN_IMAGE";
  public static final String UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT";
  public static final String CONTENT_TYPE_MISMATCH = "CONTENT_TYPE_MISMATCH";
  public static final String CORRUPT_IMAGE = "CORRUPT_IMAGE";
  public static final String BAD_URI = "BAD_URI";
  public static final String URI_SCHEME_NOT_ALLOWED = "URI_SCHEME_NOT_ALLOWED";
  public static final String FORBIDDEN_ADDRESS = "FORBIDDEN_ADDRESS";
  /** An IPv4 literal in octal, hex, one-number or short form: readers disagree on the host it names. */
  public static final String NON_CANONICAL_ADDRESS = "NON_CANONICAL_ADDRESS";
  public static final String UNKNOWN_HOST = "UNKNOWN_HOST";
  public static final String FETCH_FAILED = "FETCH_FAILED";
  public static final String FETCH_TIMEOUT = "FETCH_TIMEOUT";
  public static final String TOO_MANY_REDIRECTS = "TOO_MANY_REDIRECTS";

  private final String reasonCode;

  public ImageRejectedException(String reasonCode, String message) {
    super(reasonCode + ": " + message);
    this.reasonCode = reasonCode;
  }

  public ImageRejectedException(String reasonCode, String message, Throwable cause) {
    super(reasonCode + ": " + message, cause);
    this.reasonCode = reasonCode;
  }

  public String reasonCode() {
    return reasonCode;
  }
}
