import {
  InvalidArgumentError,
  type Policy,
  type ReferenceModel,
  type SampledCompletion,
  type SampleRequest,
  type Tokenizer,
  type TokenLogProbs,
  type TokenLogProbsRequest,
} from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import { generate } from './generate';
import type { GptModel } from './gpt-model';
import { tokenLogProbs } from './token-log-probs';
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
export class GptPolicy implements Policy<tf.Tensor, tf.Variable> {
  readonly model: GptModel;
  readonly tokenizer: Tokenizer;
  version = 0;

  constructor(options: { model: GptModel; tokenizer: Tokenizer }) {
    if (options.tokenizer.vocabSize > options.model.config.vocabSize) {
      throw new InvalidArgumentError({
        argument: 'tokenizer.vocabSize',
        value: options.tokenizer.vocabSize,
        message: `exceeds the model's vocabSize ${options.model.config.vocabSize}`,
      });
    }
    this.model = options.model;
    this.tokenizer = options.tokenizer;
  }

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    const prompts: number[][] = [];
    for (const prompt of request.prompts) {
      for (let sample = 0; sample < request.groupSize; sample++) prompts.push([...prompt]);
    }
    const generated = await generate(this.model, {
      prompts,
      maxNewTokens: request.maxNewTokens,
      temperature: request.temperature ?? 1,
      topK: request.topK ?? 0,
      topP: request.topP ?? 1,
      stopTokenIds: request.stopTokenIds ?? [],
      eosTokenId: this.tokenizer.eosTokenId,
      padTokenId: this.tokenizer.padTokenId,
      seed: request.seed,
    });
    return generated.map((sequence, index) => ({
      promptIndex: Math.floor(index / request.groupSize),
      sampleIndex: index % request.groupSize,
      tokenIds: sequence.tokenIds,
      logProbsPerToken: sequence.logProbsPerToken,
      finishReason: sequence.finishReason,
    }));
  }

  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<tf.Tensor> {
    const result = tokenLogProbs(this.model, {
      sequences: request.sequences,
      temperature: request.temperature ?? 1,
      withEntropy: request.withEntropy ?? false,
      padTokenId: this.tokenizer.padTokenId,
    });
    result.mask.dispose();
    return { logProbs: result.logProbs, ...(result.entropy ? { entropy: result.entropy } : {}) };
  }

  trainableVariables(): readonly tf.Variable[] {
    return this.model.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.model.namedVariables();
  }

  getWeights(): WeightMap {
    return this.model.toWeightMap();
  }

  setWeights(weights: WeightMap): void {
    this.model.loadWeightMap(weights);
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
    const output: number[][] = [];
    for (let start = 0; start < request.sequences.length; start += this.batchSize) {
      const sequences = request.sequences.slice(start, start + this.batchSize);
      const result = tokenLogProbs(this.model, {
        sequences,
        temperature: request.temperature ?? 1,
        padTokenId: this.padTokenId,
      });
      const values = (await result.logProbs.array()) as number[][];
      result.logProbs.dispose();
      result.mask.dispose();
      sequences.forEach((sequence, row) => {
        output.push(values[row]!.slice(0, sequence.length));
      });
    }
    return output;
  }

  getWeights(): WeightMap {
    return this.model.toWeightMap();
  }

  setWeights(weights: WeightMap): void {
    this.model.loadWeightMap(weights);
  }
}
