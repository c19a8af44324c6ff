package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.TaskRequest;

/** Turns a task's image source (inline bytes or a URI) into pixels, or rejects it with a reason. */
@FunctionalInterface
public interface ImageLoader {
  /** Runs on the CPU pool; must be thread-safe. */
  PixelImage load(TaskRequest request) throws TaskRejectedException;
}
