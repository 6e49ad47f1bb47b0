import {
  InvalidArgumentError,
  type Policy,
  type SampledCompletion,
  type SampleRequest,
  type Tokenizer,
  type TokenLogProbs,
  type TokenLogProbsRequest,
} from '@cohort/core';
import type * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from './causal-language-model';
import { generate } from './generate';
import { tokenLogProbs } from './token-log-probs';

/**
 * The core `Policy.sample` over any {@link CausalLanguageModel}: each prompt
 * repeated `groupSize` times, sampled with the KV cache by {@link generate}
 * (the tokenizer's EOS ends a completion, its pad id pads), completions
 * ordered by prompt then sample index.
 */
export async function sampleCompletions(
  model: CausalLanguageModel,
  tokenizer: Tokenizer,
  request: SampleRequest,
): Promise<SampledCompletion[]> {
  const prompts: number[][] = [];
  for (const prompt of request.prompts) {
    for (let sample = 0; sample < request.groupSize; sample++) prompts.push([...prompt]);
  }
  const generated = await generate(model, {
    prompts,
    maxNewTokens: request.maxNewTokens,
    temperature: request.temperature ?? 1,
    topK: request.topK ?? 0,
    topP: request.topP ?? 1,
    stopTokenIds: request.stopTokenIds ?? [],
    eosTokenId: tokenizer.eosTokenId,
    padTokenId: tokenizer.padTokenId,
    seed: request.seed,
  });
  return generated.map((sequence, index) => ({
    ...sequence,
    promptIndex: Math.floor(index / request.groupSize),
    sampleIndex: index % request.groupSize,
  }));
}

/** The core `Policy.tokenLogProbs` over any {@link CausalLanguageModel}: differentiable `[B, T]` log-probs (and entropies). */
export function scoreTokenLogProbs(
  model: CausalLanguageModel,
  tokenizer: Tokenizer,
  request: TokenLogProbsRequest,
): TokenLogProbs<tf.Tensor> {
  const result = tokenLogProbs(model, {
    sequences: request.sequences,
    temperature: request.temperature ?? 1,
    withEntropy: request.withEntropy ?? false,
    padTokenId: tokenizer.padTokenId,
  });
  result.mask.dispose();
  return { logProbs: result.logProbs, ...(result.entropy ? { entropy: result.entropy } : {}) };
}

/**
 * The core `ReferenceModel.referenceLogProbs` over any frozen
 * {@link CausalLanguageModel}: sequences scored `batchSize` at a time, without
 * gradient, each row cut to its sequence's length.
 */
export async function referenceLogProbsInBatches(
  model: CausalLanguageModel,
  request: TokenLogProbsRequest,
  options: { padTokenId: number; batchSize: number },
): Promise<number[][]> {
  const output: number[][] = [];
  for (let start = 0; start < request.sequences.length; start += options.batchSize) {
    const sequences = request.sequences.slice(start, start + options.batchSize);
    const result = tokenLogProbs(model, {
      sequences,
      temperature: request.temperature ?? 1,
      padTokenId: options.padTokenId,
    });
    const values = (await result.logProbs.array()) as number[][];
    result.logProbs.dispose();
    result.mask.dispose();
    sequences.forEach((sequence, row) => {
      output.push((values[row] as number[]).slice(0, sequence.length));
    });
  }
  return output;
}

/**
 * What `GptPolicy` and `LlamaPolicy` share: the core `Policy` over a tfjs
 * {@link CausalLanguageModel} and a tokenizer no larger than its vocabulary,
 * sampling with {@link sampleCompletions} and scoring with
 * {@link scoreTokenLogProbs}. Subclasses say which variables train.
 */
export abstract class CausalLanguageModelPolicy<Model extends CausalLanguageModel>
  implements Policy<tf.Tensor, tf.Variable>
{
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  version = 0;

  constructor(options: { model: Model; tokenizer: Tokenizer }) {
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
    return sampleCompletions(this.model, this.tokenizer, request);
  }

  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<tf.Tensor> {
    return scoreTokenLogProbs(this.model, this.tokenizer, request);
  }

  abstract trainableVariables(): readonly tf.Variable[];
}
