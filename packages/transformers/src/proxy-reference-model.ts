import type { ReferenceModel, TokenLogProbsRequest } from '@cohort/core';
import type { ProxyTunedPolicy } from './proxy-tuned-policy';
import { logProbsOfSequence, validateScoringRequest } from './transformers-reference-model';

/**
 * The reference model of a {@link ProxyTunedPolicy}: its frozen base, exactly
 * (`log p_base(x_t | x_<t)` at temperature `T`, 0 at t = 0). It shares the
 * policy's base-logits cache: sequences the policy sampled are scored without
 * a new forward pass, and sequences scored here are cached for the policy's
 * `tokenLogProbs`. Not refreshable (no `getWeights`): the base never changes.
 *
 * @example
 * ```ts
 * const reference = new ProxyReferenceModel({ policy });
 * const refLogProbs = await reference.referenceLogProbs({ sequences });
 * ```
 */
export class ProxyReferenceModel implements ReferenceModel {
  readonly policy: ProxyTunedPolicy;

  constructor(options: { policy: ProxyTunedPolicy }) {
    this.policy = options.policy;
  }

  async referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]> {
    const temperature = validateScoringRequest(request);
    await this.policy.prepare(request);
    const { vocabSize, tokenizer, base } = this.policy;
    const output: number[][] = [];
    for (const [index, sequence] of request.sequences.entries()) {
      let logits = this.policy.baseLogits.get(sequence);
      if (logits === undefined) {
        // The cache was too small to keep it: score it alone.
        logits = (await base.sequenceLogits([sequence], tokenizer.padTokenId)).logits[0];
      }
      output[index] = logProbsOfSequence(sequence, logits as Float32Array, vocabSize, temperature);
    }
    return output;
  }
}
