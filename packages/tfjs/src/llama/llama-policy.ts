import type { ReferenceModel, TokenLogProbsRequest } from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../causal-language-model';
import {
  CausalLanguageModelPolicy,
  referenceLogProbsInBatches,
} from '../causal-language-model-policy';
import type { WeightMap } from '../weights';
import type { LlamaModel } from './llama-model';

/**
 * The core `Policy` over a trainable {@link LlamaModel}: samples with the KV
 * cache and scores sequences with gradient. With LoRA, `trainableVariables()`,
 * `getWeights()` and `setWeights()` are the adapters only (what a new policy
 * version publishes); without, every weight. `version` is raised by the
 * trainer after every applied update.
 *
 * @example
 * ```ts
 * const model = await loadLlamaModel('models/SmolLM2-135M-Instruct', { lora: { rank: 8, alpha: 16 } });
 * const policy = new LlamaPolicy({ model, tokenizer });
 * const referenceModel = new LlamaReferenceModel({ model, padTokenId: tokenizer.padTokenId }); // adapters off, same weights
 * ```
 */
export class LlamaPolicy extends CausalLanguageModelPolicy<LlamaModel> {
  trainableVariables(): readonly tf.Variable[] {
    return this.model.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.model.namedVariables();
  }

  /** The adapters (LoRA) or every weight (full fine-tuning), as a copy. */
  getWeights(): WeightMap {
    return this.model.lora === undefined ? this.model.getWeights() : this.model.adapterWeights();
  }

  setWeights(weights: WeightMap): void {
    if (this.model.lora === undefined) this.model.setWeights(weights);
    else this.model.loadAdapterWeights(weights);
  }
}

/**
 * The KL reference of a Llama-family policy. Given a model with LoRA adapters
 * it scores with the adapters switched off: the frozen base, sharing the
 * policy's weights (no second copy). Given a model without adapters (full
 * fine-tuning) it scores that model, which must then be a separate frozen copy.
 */
export class LlamaReferenceModel implements ReferenceModel {
  readonly model: LlamaModel;
  private readonly scorer: CausalLanguageModel;
  private readonly padTokenId: number;
  /** Sequences scored per forward pass, to bound memory. */
  private readonly batchSize: number;

  constructor(options: { model: LlamaModel; padTokenId?: number; batchSize?: number }) {
    this.model = options.model;
    this.scorer =
      options.model.lora === undefined ? options.model : options.model.withoutAdapters();
    this.padTokenId = options.padTokenId ?? options.model.config.eosTokenId;
    this.batchSize = options.batchSize ?? 16;
  }

  async referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]> {
    return referenceLogProbsInBatches(this.scorer, request, {
      padTokenId: this.padTokenId,
      batchSize: this.batchSize,
    });
  }
}
