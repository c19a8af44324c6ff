package io.mmstream.model.t5;

/** T5's {@code _relative_position_bucket}: exact buckets for short distances, logarithmic ones up to the maximum. */
final class RelativePositionBuckets {
  private RelativePositionBuckets() {}

  /**
   * @param relativePosition key position minus query position
   * @param bidirectional encoder (half the buckets per direction) or decoder (only keys before the query)
   */
  static long bucket(int relativePosition, boolean bidirectional, int numBuckets, int maxDistance) {
    int buckets = numBuckets;
    long base = 0;
    int n;
    if (bidirectional) {
      buckets /= 2;
      if (relativePosition > 0) {
        base = buckets;
      }
      n = Math.abs(relativePosition);
    } else {
      n = Math.max(-relativePosition, 0);
    }
    int maxExact = buckets / 2;
    if (n < maxExact) {
      return base + n;
    }
    // float32 throughout, as torch computes it: log(n / max_exact) / log(max_distance / max_exact) * (nb - max_exact)
    float ratio = (float) Math.log((float) n / maxExact);
    float scaled = ratio / (float) Math.log((double) maxDistance / maxExact) * (buckets - maxExact);
    long large = maxExact + (long) scaled;
    return base + Math.min(large, buckets - 1);
  }
}
