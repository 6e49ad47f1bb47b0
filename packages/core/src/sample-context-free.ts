import type { SampledCompletion, SampleRequest } from './policy';
import { Random } from './random';
import { validateSampleRequest } from './sample-request-validation';
import type { Tokenizer } from './tokenizer';

/**
 * Samples a request from a next-token distribution that ignores the context,
 * given as log-probabilities at the request's temperature (greedy when the
 * temperature is 0): the sampling loop of context-free policies (unigram
 * policies for bandits, test mocks). Completions are ordered by prompt, then
 * sample index, and end at EOS or a stop id (kept) or at `maxNewTokens`.
 *
 * @example
 * ```ts
 * sampleContextFree({ request: { prompts: [[1]], groupSize: 2, maxNewTokens: 3, seed: 0 }, logProbabilities, tokenizer });
 * ```
 */
export function sampleContextFree(options: {
  request: SampleRequest;
  /** `log p(token)` at the request's temperature (at 1 when it is 0). */
  logProbabilities: readonly number[];
  tokenizer: Tokenizer;
}): SampledCompletion[] {
  const { request, logProbabilities, tokenizer } = options;
  validateSampleRequest(request, logProbabilities.length);
  const random = new Random(request.seed);
  const greedy = (request.temperature ?? 1) === 0;
  const probabilities = logProbabilities.map(Math.exp);
  const greedyId = logProbabilities.indexOf(Math.max(...logProbabilities));
  const stopIds = new Set([tokenizer.eosTokenId, ...(request.stopTokenIds ?? [])]);
  const completions: SampledCompletion[] = [];
  for (let promptIndex = 0; promptIndex < request.prompts.length; promptIndex++) {
    for (let sampleIndex = 0; sampleIndex < request.groupSize; sampleIndex++) {
      const tokenIds: number[] = [];
      const logProbsPerToken: number[] = [];
      let finishReason: SampledCompletion['finishReason'] = 'length';
      while (tokenIds.length < request.maxNewTokens) {
        const id = greedy ? greedyId : random.categorical(probabilities);
        tokenIds.push(id);
        logProbsPerToken.push(logProbabilities[id]!);
        if (stopIds.has(id)) {
          finishReason = id === tokenizer.eosTokenId ? 'eos' : 'stop';
          break;
        }
      }
      completions.push({ promptIndex, sampleIndex, tokenIds, logProbsPerToken, finishReason });
    }
  }
  return completions;
}
