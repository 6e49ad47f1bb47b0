import { InvalidArgumentError, Random } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { linear } from './linear';
import { assignWeightMap, variablesToWeightMap } from './variable-weights';
import type { WeightMap } from './weights';

/** Options of {@link createValueHead}. */
export interface ValueHeadOptions {
  /** Width of the hidden states it reads (the model's `embeddingSize`). */
  inputSize: number;
  /** Standard deviation of the initial weights; 0 (default) starts at V = 0 everywhere. */
  initialStd?: number;
  seed?: number;
  /** Prefix of its weight names. Default `'v_head'`. */
  name?: string;
}

let headCounter = 0;

/**
 * A linear value head for PPO: `V(s_t) = h_t w + b` on hidden states
 * `h [..., E]`, giving one scalar per position `[...]`. Weights are
 * `<name>.weight [E, 1]` and `<name>.bias [1]`.
 *
 * @example
 * ```ts
 * const head = createValueHead({ inputSize: 128 });
 * const { logProbs, hiddenStates } = tokenLogProbs(model, { sequences, returnHiddenStates: true });
 * const values = head.predict(hiddenStates!); // [B, T]
 * ```
 */
export class ValueHead {
  readonly inputSize: number;
  private readonly weight: tf.Variable<tf.Rank.R2>;
  private readonly bias: tf.Variable<tf.Rank.R1>;
  private readonly parameters = new Map<string, tf.Variable>();

  constructor(options: ValueHeadOptions) {
    const { inputSize, initialStd = 0, seed = 0, name = 'v_head' } = options;
    if (!Number.isInteger(inputSize) || inputSize < 1) {
      throw new InvalidArgumentError({
        argument: 'inputSize',
        value: inputSize,
        message: 'must be a positive integer',
      });
    }
    this.inputSize = inputSize;
    const random = new Random(seed);
    const values = new Float32Array(inputSize);
    for (let index = 0; index < inputSize; index++)
      values[index] = initialStd === 0 ? 0 : random.normal(0, initialStd);
    const id = headCounter++;
    this.weight = tf.variable(
      tf.tensor2d(values, [inputSize, 1]),
      true,
      `value_head${id}/${name}.weight`,
    );
    this.bias = tf.variable(tf.zeros([1]), true, `value_head${id}/${name}.bias`);
    this.parameters.set(`${name}.weight`, this.weight);
    this.parameters.set(`${name}.bias`, this.bias);
  }

  /** Values `[...]` of hidden states `[..., inputSize]`. */
  predict(hiddenStates: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      linear(hiddenStates, this.weight, this.bias).squeeze([hiddenStates.rank - 1]),
    );
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
    tf.dispose([this.weight, this.bias]);
  }
}

/** Creates a {@link ValueHead}. */
export function createValueHead(options: ValueHeadOptions): ValueHead {
  return new ValueHead(options);
}
