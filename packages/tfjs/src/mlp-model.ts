import { InvalidArgumentError, parseWithSchema, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { gelu } from './gelu';
import { linear } from './linear';
import { assignWeightMap, variablesToWeightMap } from './variable-weights';
import type { WeightMap } from './weights';

/** Options of {@link createMlpModel}. */
export const MlpModelOptionsSchema = z
  .object({
    /** Sizes of every layer: input, hidden..., output (at least two entries). */
    layerSizes: z.array(z.number().int().positive()).min(2),
    activation: z.enum(['relu', 'tanh', 'gelu']).default('tanh'),
    /** Multiplies the initial weights of the last layer (for example 0.01 for a policy head). */
    finalLayerScale: z.number().nonnegative().default(1),
    seed: z.number().int().default(0),
  })
  .strict();

export type MlpModelOptions = z.output<typeof MlpModelOptionsSchema>;
export type MlpModelOptionsInput = z.input<typeof MlpModelOptionsSchema>;

let mlpCounter = 0;

/**
 * A small multilayer perceptron over feature vectors, the actor and the critic
 * of the candidate selector: `h_0 = x`, `h_{i+1} = act(h_i W_i + b_i)`, with no
 * activation after the last layer. Initialization as PyTorch's `nn.Linear`:
 * `W, b ~ U(-1/sqrt(in), 1/sqrt(in))`. Weights: `layers.{i}.weight [in, out]`,
 * `layers.{i}.bias [out]`.
 *
 * @example
 * ```ts
 * const actor = createMlpModel({ layerSizes: [16, 32, 1], activation: 'tanh', seed: 3 });
 * const scores = actor.predict(tf.randomNormal([5, 16])); // [5, 1]
 * ```
 */
export class MlpModel {
  readonly options: MlpModelOptions;
  private readonly layers: { weight: tf.Variable<tf.Rank.R2>; bias: tf.Variable<tf.Rank.R1> }[] =
    [];
  private readonly parameters = new Map<string, tf.Variable>();

  constructor(options: MlpModelOptions) {
    this.options = options;
    const random = new Random(options.seed);
    const id = mlpCounter++;
    const { layerSizes } = options;
    for (let index = 0; index + 1 < layerSizes.length; index++) {
      const inSize = layerSizes[index] as number;
      const outSize = layerSizes[index + 1] as number;
      const bound = 1 / Math.sqrt(inSize);
      const scale = index + 2 === layerSizes.length ? options.finalLayerScale : 1;
      const weights = new Float32Array(inSize * outSize);
      for (let k = 0; k < weights.length; k++) weights[k] = random.uniform(-bound, bound) * scale;
      const biases = new Float32Array(outSize);
      for (let k = 0; k < biases.length; k++) biases[k] = random.uniform(-bound, bound) * scale;
      const weight = tf.variable(
        tf.tensor2d(weights, [inSize, outSize]),
        true,
        `mlp${id}/layers.${index}.weight`,
      );
      const bias = tf.variable(tf.tensor1d(biases), true, `mlp${id}/layers.${index}.bias`);
      this.layers.push({ weight, bias });
      this.parameters.set(`layers.${index}.weight`, weight);
      this.parameters.set(`layers.${index}.bias`, bias);
    }
  }

  /** Outputs `[..., out]` for inputs `[..., in]`. */
  predict(input: tf.Tensor): tf.Tensor {
    const inSize = this.options.layerSizes[0] as number;
    if (input.shape[input.rank - 1] !== inSize) {
      throw new InvalidArgumentError({
        argument: 'input.shape',
        value: input.shape,
        message: `last axis must be ${inSize}`,
      });
    }
    return tf.tidy(() => {
      let hidden = input;
      this.layers.forEach(({ weight, bias }, index) => {
        hidden = linear(hidden, weight, bias);
        if (index + 1 < this.layers.length) hidden = this.activate(hidden);
      });
      return hidden;
    });
  }

  private activate(x: tf.Tensor): tf.Tensor {
    if (this.options.activation === 'relu') return tf.relu(x);
    if (this.options.activation === 'gelu') return gelu(x);
    return tf.tanh(x);
  }

  trainableVariables(): tf.Variable[] {
    return [...this.parameters.values()];
  }

  namedVariables(): Record<string, tf.Variable> {
    return Object.fromEntries(this.parameters);
  }

  getWeights(): WeightMap {
    return variablesToWeightMap(this.parameters);
  }

  setWeights(weights: WeightMap): void {
    assignWeightMap(this.parameters, weights);
  }

  dispose(): void {
    tf.dispose([...this.parameters.values()]);
  }
}

/** Creates an {@link MlpModel} from validated options. */
export function createMlpModel(options: MlpModelOptionsInput): MlpModel {
  return new MlpModel(parseWithSchema(MlpModelOptionsSchema, options, 'MLP options'));
}
