package io.mmstream.demo.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.optimizer.Optimizer;
import io.mmstream.model.tensor.SafetensorsWriter;
import io.mmstream.model.tensor.WeightStore;
import java.nio.file.Path;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * The parameters of a model being trained, handed to the model classes as a {@link WeightStore}, so
 * the classes that load real checkpoints are the ones trained.
 *
 * <p>Each parameter is created on first request, keyed by its checkpoint name: embedding tables and
 * learned position/class embeddings N(0, std), projections and convolutions (the patch embedding
 * too) N(0, 1/fan-in), zero biases, unit norm weights. Models
 * are rebuilt for every step inside the gradient collector: the store then hands out views of the
 * parameters, so whatever a module derives at load time (CLIP's fused q/k/v, its class-token rows)
 * stays on the autograd tape and gradients reach the parameters themselves.
 */
public final class TrainableWeights implements WeightStore {
  private final NDManager parameterManager;
  private final float std;
  private final Map<String, Float> constants;
  private final List<Pattern> absent;
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();
  private NDManager stepManager;

  /**
   * @param std standard deviation of initial embeddings
   * @param constants initial values of scalar parameters (e.g. CLIP's {@code logit_scale})
   * @param absentKeys regular expressions for optional keys the store reports missing (buffers
   *     such as {@code position_ids}, tied heads)
   */
  public TrainableWeights(NDManager manager, long seed, float std, Map<String, Float> constants, String... absentKeys) {
    this.parameterManager = manager;
    this.std = std;
    this.constants = Map.copyOf(constants);
    this.absent = Arrays.stream(absentKeys).map(Pattern::compile).toList();
    this.stepManager = manager;
    manager.getEngine().setRandomSeed((int) seed);
  }

  /** Views handed out from now on live in {@code step}, which the caller closes after the step. */
  public void beginStep(NDManager step) {
    this.stepManager = step;
  }

  public Map<String, NDArray> parameters() {
    return Collections.unmodifiableMap(parameters);
  }

  public long parameterCount() {
    return parameters.values().stream().mapToLong(NDArray::size).sum();
  }

  /** One optimizer step over every parameter that received a gradient, then clears the gradients. */
  public void update(Optimizer optimizer) {
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      NDArray parameter = e.getValue();
      try (NDArray gradient = parameter.getGradient()) {
        optimizer.update(e.getKey(), parameter, gradient);
        gradient.subi(gradient);
      }
    }
  }

  /** The key of the first parameter holding a NaN or infinity, or null. */
  public String firstNonFinite() {
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      for (float v : e.getValue().toFloatArray()) {
        if (!Float.isFinite(v)) {
          return e.getKey();
        }
      }
    }
    return null;
  }

  /** Sets every gradient to zero without an update (NaN-safe: overwrites rather than subtracting). */
  public void dropGradients() {
    for (NDArray parameter : parameters.values()) {
      try (NDArray gradient = parameter.getGradient()) {
        gradient.set(new float[(int) gradient.size()]);
      }
    }
  }

  /** Writes every parameter under its checkpoint key to {@code file} (safetensors, F32). */
  public void save(Path file) throws IOException {
    save(file, Optional::of);
  }

  /**
   * Writes the parameters {@code checkpointKey} names a key for (under that key) to {@code file};
   * the others are left out.
   */
  public void save(Path file, Function<String, Optional<String>> checkpointKey) throws IOException {
    SafetensorsWriter writer = new SafetensorsWriter();
    parameters.forEach((key, value) -> checkpointKey.apply(key).ifPresent(name -> writer.add(name, value)));
    writer.write(file);
  }

  /** Starts parameter {@code key} from a copy of {@code value} instead of a random draw. */
  public void initialize(String key, NDArray value) {
    NDArray copy = value.duplicate();
    copy.attach(parameterManager);
    copy.setRequiresGradient(true);
    NDArray previous = parameters.put(key, copy);
    if (previous != null) {
      previous.close();
    }
  }

  /**
   * A store over these parameters for a model whose checkpoint key {@code k} is parameter
   * {@code parameterKey(k)}: models that share some parameters and not others train together.
   */
  public WeightStore view(UnaryOperator<String> parameterKey) {
    TrainableWeights all = this;
    return new WeightStore() {
      @Override
      public NDManager manager() {
        return all.manager();
      }

      @Override
      public DataType floatType() {
        return all.floatType();
      }

      @Override
      public Optional<NDArray> load(String key, long[] expectedShape) {
        return all.load(parameterKey.apply(key), expectedShape);
      }

      @Override
      public boolean contains(String key) {
        return all.contains(parameterKey.apply(key));
      }

      @Override
      public Set<String> unusedKeys() {
        return Set.of();
      }

      @Override
      public String describe() {
        return all.describe();
      }

      @Override
      public void close() {
        // The parameters belong to the TrainableWeights, which closes them.
      }
    };
  }

  @Override
  public NDManager manager() {
    return stepManager;
  }

  @Override
  public DataType floatType() {
    return DataType.FLOAT32;
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    if (absent.stream().anyMatch(p -> p.matcher(key).matches())) {
      return Optional.empty();
    }
    NDArray parameter = parameters.computeIfAbsent(key, k -> create(k, expectedShape));
    if (!Arrays.equals(parameter.getShape().getShape(), expectedShape)) {
      throw new IllegalStateException(key + ": asked for " + Arrays.toString(expectedShape) + ", have "
          + parameter.getShape());
    }
    NDArray view = parameter.reshape(parameter.getShape());
    view.attach(stepManager);
    return Optional.of(view);
  }

  private NDArray create(String key, long[] shape) {
    NDArray value;
    Float constant = constants.get(key);
    if (constant != null) {
      value = parameterManager.full(new Shape(shape), constant);
    } else if (key.endsWith("bias")) {
      value = parameterManager.zeros(new Shape(shape));
    } else if (shape.length == 1 && key.endsWith("weight")) {
      value = parameterManager.ones(new Shape(shape));
    } else if (key.contains("embedding") && !key.contains("patch_embedding")) {
      value = parameterManager.randomNormal(0f, std, new Shape(shape), DataType.FLOAT32);
    } else {
      // Fan-in scaling (LeCun normal) for projections and convolutions: with BERT's flat 0.02 a
      // small model's attention starts uniform and hardly learns where to look.
      long fanIn = 1;
      for (int i = 1; i < shape.length; i++) {
        fanIn *= shape[i];
      }
      value = parameterManager.randomNormal(0f, (float) (1 / Math.sqrt(fanIn)), new Shape(shape), DataType.FLOAT32);
    }
    value.setRequiresGradient(true);
    return value;
  }

  @Override
  public boolean contains(String key) {
    return parameters.containsKey(key);
  }

  @Override
  public Set<String> unusedKeys() {
    return Set.of();
  }

  @Override
  public String describe() {
    return "parameters in training";
  }

  @Override
  public void close() {
    parameters.values().forEach(NDArray::close);
    parameters.clear();
  }
}
