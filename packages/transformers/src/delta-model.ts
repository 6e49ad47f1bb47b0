import { InvalidArgumentError } from '@cohort/core';
import {
  createGptModel,
  type Gpt2ConfigInput,
  type GptForwardOptions,
  type GptModel,
  type LayerKeyValue,
  linear,
  type WeightMap,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** Names of the zero-initialized output layer in weight maps. */
export const deltaHeadWeightName = 'delta_head.weight';
export const deltaHeadBiasName = 'delta_head.bias';

/** Result of {@link DeltaModel.forward}; the caller disposes every tensor. */
export interface DeltaForwardResult {
  /** `[B, T, V]` logit offsets. */
  delta: tf.Tensor3D;
  presentKeyValues: LayerKeyValue[];
}

/**
 * The trainable half of a proxy-tuned policy: a small tfjs GPT-2 whose final
 * hidden states `h` go through an extra output layer that starts at zero,
 * `delta = h W + b` with `W = 0 [E, V]` and `b = 0 [V]`, so that at
 * initialization `delta = 0` exactly and the policy equals the base model.
 * (The GPT's own head is tied to its input embedding, so it cannot be zeroed
 * alone.) `W` and `b` are ordinary trainable variables: their gradient at
 * zero is `h^T (pi - onehot)`, not zero, so training moves them first and
 * the body follows (as LoRA's zero-initialized B matrix, Hu et al. 2021).
 *
 * @example
 * ```ts
 * const delta = new DeltaModel({ config: { vocabSize: 300, contextLength: 64, embeddingSize: 32, layerCount: 1, headCount: 2 }, seed: 1 });
 * const { delta: offsets } = delta.forward([[1, 2, 3]]); // all zeros at first
 * ```
 */
export class DeltaModel {
  readonly gpt: GptModel;
  readonly headWeight: tf.Variable<tf.Rank.R2>;
  readonly headBias: tf.Variable<tf.Rank.R1>;
  readonly vocabSize: number;

  constructor(options: { config: Gpt2ConfigInput; seed?: number }) {
    this.gpt = createGptModel({ config: options.config, seed: options.seed ?? 0 });
    const { embeddingSize, vocabSize } = this.gpt.config;
    this.vocabSize = vocabSize;
    this.headWeight = tf.variable(
      tf.zeros([embeddingSize, vocabSize]),
      true,
      undefined,
    ) as tf.Variable<tf.Rank.R2>;
    this.headBias = tf.variable(tf.zeros([vocabSize]), true) as tf.Variable<tf.Rank.R1>;
  }

  /** Logit offsets for `tokenIds [B, T]`, with the GPT's KV cache options. */
  forward(
    tokenIds: readonly (readonly number[])[],
    options: Omit<GptForwardOptions, 'returnHiddenStates'> = {},
  ): DeltaForwardResult {
    const output = this.gpt.forward(tokenIds, { ...options, returnHiddenStates: true });
    const hidden = output.hiddenStates as tf.Tensor3D;
    const [batchSize, length, width] = hidden.shape;
    // tfjs's fused linear (the fast matmul path of @cohort/tfjs, with its own gradient).
    const delta = tf.tidy(() =>
      linear(hidden.reshape([batchSize * length, width]), this.headWeight, this.headBias).reshape([
        batchSize,
        length,
        this.vocabSize,
      ]),
    ) as tf.Tensor3D;
    tf.dispose([output.logits, hidden]);
    return { delta, presentKeyValues: output.presentKeyValues };
  }

  /** Every trainable variable keyed by its weight-map name. */
  namedVariables(): Record<string, tf.Variable> {
    return {
      ...this.gpt.namedVariables(),
      [deltaHeadWeightName]: this.headWeight,
      [deltaHeadBiasName]: this.headBias,
    };
  }

  trainableVariables(): tf.Variable[] {
    return Object.values(this.namedVariables());
  }

  getWeights(): WeightMap {
    return {
      ...this.gpt.getWeights(),
      [deltaHeadWeightName]: {
        shape: [...this.headWeight.shape],
        data: this.headWeight.dataSync() as Float32Array,
      },
      [deltaHeadBiasName]: {
        shape: [...this.headBias.shape],
        data: this.headBias.dataSync() as Float32Array,
      },
    };
  }

  /** Loads a map from {@link DeltaModel.getWeights}; throws naming a missing or misshaped tensor. */
  setWeights(weights: WeightMap): void {
    const { [deltaHeadWeightName]: weight, [deltaHeadBiasName]: bias, ...body } = weights;
    for (const [name, tensor, variable] of [
      [deltaHeadWeightName, weight, this.headWeight],
      [deltaHeadBiasName, bias, this.headBias],
    ] as const) {
      if (
        tensor === undefined ||
        tensor.shape.length !== variable.rank ||
        tensor.shape.some((dimension, axis) => dimension !== variable.shape[axis])
      ) {
        throw new InvalidArgumentError({
          argument: `weights["${name}"]`,
          value: tensor?.shape,
          message: `must be a tensor of shape [${variable.shape.join(', ')}]`,
        });
      }
    }
    this.gpt.setWeights(body);
    this.headWeight.assign(tf.tensor2d(weight!.data, this.headWeight.shape));
    this.headBias.assign(tf.tensor1d(bias!.data));
  }

  dispose(): void {
    this.gpt.dispose();
    this.headWeight.dispose();
    this.headBias.dispose();
  }
}
