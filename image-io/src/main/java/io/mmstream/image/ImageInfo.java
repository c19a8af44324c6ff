package io.mmstream.image;

/** What an image header says, read without decoding pixels. */
public record ImageInfo(ImageFormat format, int width, int height) {
  public long pixels() {
    return (long) width * height;
  }
}
