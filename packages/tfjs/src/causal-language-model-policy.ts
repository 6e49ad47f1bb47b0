import type {
  SampledCompletion,
  SampleRequest,
  Tokenizer,
  TokenLogProbs,
  TokenLogProbsRequest,
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
    promptIndex: Math.floor(index / request.groupSize),
    sampleIndex: index % request.groupSize,
    tokenIds: sequence.tokenIds,
    logProbsPerToken: sequence.logProbsPerToken,
    finishReason: sequence.finishReason,
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
