import {
  type FinishReason,
  InvalidArgumentError,
  NonFiniteError,
  Random,
  type SampledCompletion,
  type SampleRequest,
  type Tokenizer,
  validateSampleRequest,
} from '@cohort/core';
import { argmax } from '@cohort/tfjs';
import { logSoftmax, sampleTruncated } from './logits-math';

/** A padded batch step: `[B, T]` ids and positions, `[B, past + T]` attention mask. */
export interface StepInput {
  tokenIds: number[][];
  attentionMask: number[][];
  positionIds: number[][];
}

/**
 * Next-token logits of one batch of rows, stepped with a key/value cache:
 * `start` runs the left-padded prompts, then each `step` feeds one token per
 * row. Both return the logits of the last position, `[B, V]` row-major.
 */
export interface NextTokenStepper {
  start(input: StepInput): Promise<Float32Array>;
  step(input: StepInput): Promise<Float32Array>;
  /** Called once with the finished rows (prompt + completion), for caches. Optional. */
  finish?(rows: readonly (readonly number[])[]): void;
}

/** The last position's logits of each row: `[B, T, V]` row-major in, `[B, V]` out. */
export function lastPositionLogits(
  logits: Float32Array,
  rows: number,
  length: number,
  vocabSize: number,
): Float32Array {
  const last = new Float32Array(rows * vocabSize);
  for (let b = 0; b < rows; b++) {
    last.set(
      logits.subarray(((b + 1) * length - 1) * vocabSize, (b + 1) * length * vocabSize),
      b * vocabSize,
    );
  }
  return last;
}

/** A {@link SampleRequest} plus stop strings, checked on the decoded completion after each token. */
export interface SamplingLoopRequest extends SampleRequest {
  /** A completion stops (reason `stop`) once its decoded text contains one of these. */
  stopStrings?: readonly string[];
}

/** Options of {@link runSamplingLoop}. */
export interface SamplingLoopOptions {
  request: SamplingLoopRequest;
  tokenizer: Tokenizer;
  vocabSize: number;
  /** Longest prompt + completion the model allows, if limited. */
  maxPositions?: number;
  /** Rows per forward pass. */
  batchSize: number;
  createStepper(): NextTokenStepper;
}

interface Row {
  promptIndex: number;
  sampleIndex: number;
  prompt: readonly number[];
  random: Random;
  tokenIds: number[];
  logProbsPerToken: number[];
  finishReason?: FinishReason;
}

/**
 * The sampling loop shared by the transformers.js sampler and the proxy-tuned
 * policy: left-pads each batch of prompts, samples token by token from
 * `softmax(z / T)` truncated by top-k and top-p, and records
 * `log softmax(z / T)[token]` of the full distribution (under `T = 1` when
 * greedy, `T = 0`). Each completion draws from its own stream
 * `new Random(seed).fork("prompt:sample")`, so results do not depend on the
 * batch size. EOS ends a completion with reason `eos`, a stop id or stop
 * string with `stop`, `maxNewTokens` with `length`; the ending id is kept.
 */
export async function runSamplingLoop(options: SamplingLoopOptions): Promise<SampledCompletion[]> {
  const { request, tokenizer, vocabSize } = options;
  validateSampleRequest(request, vocabSize);
  const temperature = request.temperature ?? 1;
  const topK = request.topK ?? 0;
  const topP = request.topP ?? 1;
  const stopIds = new Set(request.stopTokenIds ?? []);
  const stopStrings = (request.stopStrings ?? []).filter((text) => text.length > 0);
  if (options.maxPositions !== undefined) {
    request.prompts.forEach((prompt, index) => {
      if (prompt.length + request.maxNewTokens > (options.maxPositions as number)) {
        throw new InvalidArgumentError({
          argument: `prompts[${index}].length + maxNewTokens`,
          value: prompt.length + request.maxNewTokens,
          message: `exceeds the model's ${options.maxPositions} positions`,
        });
      }
    });
  }
  const root = new Random(request.seed);
  const rows: Row[] = [];
  request.prompts.forEach((prompt, promptIndex) => {
    for (let sampleIndex = 0; sampleIndex < request.groupSize; sampleIndex++) {
      rows.push({
        promptIndex,
        sampleIndex,
        prompt,
        random: root.fork(`${promptIndex}:${sampleIndex}`),
        tokenIds: [],
        logProbsPerToken: [],
      });
    }
  });
  for (let start = 0; start < rows.length; start += options.batchSize) {
    await sampleBatch(rows.slice(start, start + options.batchSize));
  }
  return rows.map((row) => ({
    promptIndex: row.promptIndex,
    sampleIndex: row.sampleIndex,
    tokenIds: row.tokenIds,
    logProbsPerToken: row.logProbsPerToken,
    finishReason: row.finishReason ?? 'length',
  }));

  async function sampleBatch(batch: Row[]): Promise<void> {
    const stepper = options.createStepper();
    const width = Math.max(...batch.map((row) => row.prompt.length));
    const attentionMask = batch.map((row) =>
      Array.from({ length: width }, (_, t) => (t < width - row.prompt.length ? 0 : 1)),
    );
    let logits = await stepper.start({
      tokenIds: batch.map((row) => [
        ...new Array<number>(width - row.prompt.length).fill(tokenizer.padTokenId),
        ...row.prompt,
      ]),
      attentionMask,
      positionIds: batch.map((row) =>
        Array.from({ length: width }, (_, t) => Math.max(0, t - (width - row.prompt.length))),
      ),
    });
    for (let step = 0; step < request.maxNewTokens; step++) {
      const next: number[] = [];
      batch.forEach((row, b) => {
        if (row.finishReason !== undefined) {
          next.push(tokenizer.padTokenId);
          return;
        }
        for (let id = 0; id < vocabSize; id++) {
          const logit = logits[b * vocabSize + id] as number;
          // -Infinity is a masked token; NaN or +Infinity is a broken model.
          if (Number.isNaN(logit) || logit === Number.POSITIVE_INFINITY) {
            throw new NonFiniteError({
              quantity: `logits[${b}][${id}]`,
              value: logit,
              context: `sampling step ${step}`,
            });
          }
        }
        const logProbs = logSoftmax(
          logits,
          b * vocabSize,
          vocabSize,
          temperature === 0 ? 1 : temperature,
        );
        const token =
          temperature === 0 ? argmax(logProbs) : sampleTruncated(logProbs, topK, topP, row.random);
        row.tokenIds.push(token);
        row.logProbsPerToken.push(logProbs[token] as number);
        if (token === tokenizer.eosTokenId) row.finishReason = 'eos';
        else if (stopIds.has(token)) row.finishReason = 'stop';
        else if (
          stopStrings.length > 0 &&
          stopStrings.some((text) => tokenizer.decode(row.tokenIds).includes(text))
        )
          row.finishReason = 'stop';
        else if (row.tokenIds.length >= request.maxNewTokens) row.finishReason = 'length';
        next.push(token);
      });
      if (batch.every((row) => row.finishReason !== undefined)) break;
      for (const mask of attentionMask) mask.push(1);
      logits = await stepper.step({
        tokenIds: next.map((id) => [id]),
        attentionMask,
        positionIds: batch.map((row) => [row.prompt.length + row.tokenIds.length - 1]),
      });
    }
    stepper.finish?.(batch.map((row) => [...row.prompt, ...row.tokenIds]));
  }
}
