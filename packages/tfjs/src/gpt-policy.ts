import type { ReferenceModel, TokenLogProbsRequest } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import {
  CausalLanguageModelPolicy,
  referenceLogProbsInBatches,
} from './causal-language-model-policy';
import type { GptModel } from './gpt-model';
import type { WeightMap } from './weights';

/**
 * The core `Policy` over a trainable tfjs {@link GptModel}: samples with the
 * KV cache and scores sequences with gradient. `version` is raised by the
 * trainer after every applied update.
 *
 * @example
 * ```ts
 * const policy = new GptPolicy({ model: createGptModel({ config, seed: 1 }), tokenizer });
 * const [completion] = await policy.sample({ prompts: [tokenizer.applyChatTemplate(messages)], groupSize: 1, maxNewTokens: 32, seed: 7 });
 * ```
 */
export class GptPolicy extends CausalLanguageModelPolicy<GptModel> {
  trainableVariables(): readonly tf.Variable[] {
    return this.model.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.model.namedVariables();
  }

  getWeights(): WeightMap {
    return this.model.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.model.setWeights(weights);
  }
}

/**
 * A frozen {@link GptModel} as the KL reference: scores sequences without
 * gradient. Its weights can be refreshed from the policy (hard copy or mix).
 */
export class GptReferenceModel implements ReferenceModel {
  readonly model: GptModel;
  private readonly padTokenId: number;
  /** Sequences scored per forward pass, to bound memory. */
  private readonly batchSize: number;

  constructor(options: { model: GptModel; padTokenId?: number; batchSize?: number }) {
    this.model = options.model;
    this.padTokenId = options.padTokenId ?? options.model.config.eosTokenId;
    this.batchSize = options.batchSize ?? 16;
  }

  async referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]> {
    return referenceLogProbsInBatches(this.model, request, {
      padTokenId: this.padTokenId,
      batchSize: this.batchSize,
    });
  }

  getWeights(): WeightMap {
    return this.model.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.model.setWeights(weights);
  }
}
