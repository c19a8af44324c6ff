package io.mmstream.image;

import java.net.URI;

/** Image bytes fetched from a URI, with the content type the server declared (may be null). */
public record FetchedImage(URI uri, byte[] bytes, String contentType) {}
