import { InvalidArgumentError, type ValueFunction } from '@cohort/core';
import type { GptModel, ValueHead, WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** A value function the trainer can update and checkpoint. */
export interface TrainableValueFunction extends ValueFunction<tf.Tensor, tf.Variable> {
  namedVariables(): Record<string, tf.Variable>;
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
}

/**
 * A critic for PPO: its own small GPT trunk with a linear value head on the
 * final hidden states, `V(s_t) = w . h_t + b` (the state after token t).
 * Kept apart from the policy, so value gradients never disturb the policy's
 * weights and any policy (a tfjs LM or a proxy-tuned one) can have a critic.
 *
 * @example
 * ```ts
 * const critic = new GptValueFunction({ model: createGptModel({ config, seed: 2 }), head: createValueHead({ inputSize: config.embeddingSize }) });
 * const values = critic.values({ sequences: [[1, 2, 3]] }); // [1, 3]
 * ```
 */
export class GptValueFunction implements TrainableValueFunction {
  readonly model: GptModel;
  readonly head: ValueHead;
  private readonly padTokenId: number;

  constructor(options: { model: GptModel; head: ValueHead; padTokenId?: number }) {
    if (options.head.inputSize !== options.model.config.embeddingSize) {
      throw new InvalidArgumentError({
        argument: 'head.inputSize',
        value: options.head.inputSize,
        message: `must equal the model's embeddingSize ${options.model.config.embeddingSize}`,
      });
    }
    this.model = options.model;
    this.head = options.head;
    this.padTokenId = options.padTokenId ?? options.model.config.eosTokenId;
  }

  values(request: { sequences: readonly (readonly number[])[] }): tf.Tensor {
    const maxLength = Math.max(1, ...request.sequences.map((sequence) => sequence.length));
    const padded = request.sequences.map((sequence) => [
      ...sequence,
      ...new Array<number>(maxLength - sequence.length).fill(this.padTokenId),
    ]);
    const { logits, presentKeyValues, hiddenStates } = this.model.forward(padded, {
      returnHiddenStates: true,
    });
    logits.dispose();
    for (const layer of presentKeyValues) tf.dispose([layer.key, layer.value]);
    const values = this.head.predict(hiddenStates!);
    hiddenStates!.dispose();
    return values;
  }

  trainableVariables(): readonly tf.Variable[] {
    return [...this.model.trainableVariables(), ...this.head.trainableVariables()];
  }

  namedVariables(): Record<string, tf.Variable> {
    return { ...this.model.namedVariables(), ...this.head.namedVariables() };
  }

  getWeights(): WeightMap {
    return { ...this.model.getWeights(), ...this.head.getWeights() };
  }

  setWeights(weights: WeightMap): void {
    const headWeights: WeightMap = {};
    const modelWeights: WeightMap = {};
    const headNames = new Set(Object.keys(this.head.namedVariables()));
    for (const [name, tensor] of Object.entries(weights)) {
      if (headNames.has(name)) headWeights[name] = tensor;
      else modelWeights[name] = tensor;
    }
    this.model.setWeights(modelWeights);
    this.head.setWeights(headWeights);
  }
}
