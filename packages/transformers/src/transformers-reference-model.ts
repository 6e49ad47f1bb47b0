import { InvalidArgumentError, type ReferenceModel, type TokenLogProbsRequest } from '@cohort/core';
import type { CausalLm } from './causal-lm';
import { logSoftmax } from './logits-math';

/** Options of {@link TransformersReferenceModel}. */
export interface TransformersReferenceModelOptions {
  model: CausalLm;
  /** Id put in padding positions (never attended to). */
  padTokenId: number;
  /** Sequences per forward pass. Default 16. */
  batchSize?: number;
}

/** Validates `sequences` and `temperature` of a scoring request. */
export function validateScoringRequest(request: TokenLogProbsRequest): number {
  const temperature = request.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      value: temperature,
      message: 'must be a finite positive number',
    });
  }
  request.sequences.forEach((sequence, index) => {
    if (sequence.length === 0) {
      throw new InvalidArgumentError({
        argument: `sequences[${index}]`,
        value: sequence,
        message: 'must hold at least one token',
      });
    }
  });
  return temperature;
}

/**
 * A frozen transformers.js causal LM as the core `ReferenceModel`: per-token
 * log-probabilities `result[i][t] = log softmax(z_{t-1} / T)[x_t]` (0 at t = 0)
 * of given sequences, from one batched forward pass per `batchSize`
 * sequences (right padding, so padding never changes a real position).
 * `sequenceLogits` gives the full next-token logits for an exact KL.
 *
 * @example
 * ```ts
 * const reference = new TransformersReferenceModel({ model, padTokenId: tokenizer.padTokenId });
 * const [logProbs] = await reference.referenceLogProbs({ sequences: [[...prompt, ...completion]] });
 * ```
 */
export class TransformersReferenceModel implements ReferenceModel {
  readonly model: CausalLm;
  private readonly padTokenId: number;
  private readonly batchSize: number;

  constructor(options: TransformersReferenceModelOptions) {
    this.model = options.model;
    this.padTokenId = options.padTokenId;
    this.batchSize = options.batchSize ?? 16;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new InvalidArgumentError({
        argument: 'batchSize',
        value: options.batchSize,
        message: 'must be a positive integer',
      });
    }
  }

  /** Raw next-token logits per sequence: `[len_i, V]` row-major, row `t` predicting token `t + 1`. */
  async sequenceLogits(
    sequences: readonly (readonly number[])[],
  ): Promise<{ logits: Float32Array[]; vocabSize: number }> {
    const logits: Float32Array[] = [];
    let vocabSize = 0;
    for (let start = 0; start < sequences.length; start += this.batchSize) {
      const output = await this.model.sequenceLogits(
        sequences.slice(start, start + this.batchSize),
        this.padTokenId,
      );
      logits.push(...output.logits);
      vocabSize = output.vocabSize;
    }
    return { logits, vocabSize };
  }

  async referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]> {
    const temperature = validateScoringRequest(request);
    if (request.sequences.length === 0) return [];
    const { logits, vocabSize } = await this.sequenceLogits(request.sequences);
    return request.sequences.map((sequence, index) =>
      logProbsOfSequence(sequence, logits[index] as Float32Array, vocabSize, temperature),
    );
  }
}

/** `[0, log softmax(z_0/T)[x_1], ..., log softmax(z_{n-2}/T)[x_{n-1}]]` from next-token logits rows. */
export function logProbsOfSequence(
  sequence: readonly number[],
  logits: ArrayLike<number>,
  vocabSize: number,
  temperature: number,
): number[] {
  const output = [0];
  for (let t = 1; t < sequence.length; t++) {
    const id = sequence[t] as number;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidArgumentError({
        argument: `sequence[${t}]`,
        value: id,
        message: `must be an id in [0, ${vocabSize})`,
      });
    }
    output.push(logSoftmax(logits, (t - 1) * vocabSize, vocabSize, temperature)[id] as number);
  }
  return output;
}
