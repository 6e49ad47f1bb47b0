import {
  assertSamplingSettings,
  assertTokenIds,
  InvalidArgumentError,
  Random,
  type SampledTokens,
} from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import { argmax } from './argmax';
import type { CausalLanguageModel } from './causal-language-model';
import type { LayerKeyValue } from './gpt-model';

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Prompt token ids, one array per sequence (lengths may differ; they are left-padded). */
  prompts: readonly (readonly number[])[];
  /** Upper bound on new tokens per sequence. */
  maxNewTokens: number;
  /** Divides the logits before sampling; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the `topK` most likely tokens (0 or omitted: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches `topP` (1 or omitted: all). */
  topP?: number;
  /** Tokens that end a sequence (they are kept in its output), with finish reason `'stop'`. */
  stopTokenIds?: readonly number[];
  /** End-of-sequence token (kept in the output), finish reason `'eos'`. Default: the model's `eosTokenId`; `null` disables it. */
  eosTokenId?: number | null;
  /** Id used for left padding. Default: the model's `eosTokenId`. */
  padTokenId?: number;
  /** Seed of the sampler (ignored when `random` is given). Default 0. */
  seed?: number;
  /** The sampler's random stream; advanced in place, so a run can be resumed from its state. */
  random?: Random;
  /** Reuse keys and values of earlier positions (default true). `false` recomputes every step, for tests and benchmarks. */
  useCache?: boolean;
}

function assertPositiveInteger(argument: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({
      argument,
      value,
      message: `must be an integer >= ${minimum}`,
    });
  }
}

/** Log-softmax of `row / temperature` in float64. */
function logSoftmaxRow(row: Float32Array, temperature: number): Float64Array {
  const out = new Float64Array(row.length);
  let maximum = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < row.length; index++) {
    const value = (row[index] as number) / temperature;
    out[index] = value;
    if (value > maximum) maximum = value;
  }
  let total = 0;
  for (let index = 0; index < out.length; index++)
    total += Math.exp((out[index] as number) - maximum);
  const logTotal = maximum + Math.log(total);
  for (let index = 0; index < out.length; index++) out[index] = (out[index] as number) - logTotal;
  return out;
}

/** Samples from `logProbs` restricted by top-k then top-p (nucleus, Holtzman et al. 2020). */
function sampleTruncated(
  logProbs: Float64Array,
  topK: number,
  topP: number,
  random: Random,
): number {
  const order = Array.from(logProbs.keys()).sort(
    (left, right) => (logProbs[right] as number) - (logProbs[left] as number),
  );
  let keep = topK > 0 ? Math.min(topK, order.length) : order.length;
  if (topP < 1) {
    let kept = 0;
    for (let index = 0; index < keep; index++)
      kept += Math.exp(logProbs[order[index] as number] as number);
    let cumulative = 0;
    for (let index = 0; index < keep; index++) {
      cumulative += Math.exp(logProbs[order[index] as number] as number) / kept;
      if (cumulative >= topP) {
        keep = index + 1;
        break;
      }
    }
  }
  const weights = new Float64Array(keep);
  for (let index = 0; index < keep; index++)
    weights[index] = Math.exp(logProbs[order[index] as number] as number);
  return order[random.categorical(weights)] as number;
}

/**
 * Samples continuations of a batch of prompts from a causal LM (`GptModel`, `LlamaModel`), with a
 * KV cache. Prompts are left-padded; padding is masked out of attention and
 * position ids restart at 0 on each prompt's first token, so every sequence
 * gets the same tokens as it would alone. Sampling: `p = softmax(z / T)`,
 * restricted to the top-k, then to the top-p nucleus, renormalized, drawn
 * with the core {@link Random} (reproducible by seed); `T = 0` takes the argmax.
 *
 * @example
 * ```ts
 * const [out] = await generate(model, { prompts: [[1, 2]], maxNewTokens: 8, temperature: 0.7, topK: 20, seed: 1 });
 * out.tokenIds; out.logProbsPerToken; out.finishReason;
 * ```
 */
export async function generate(
  model: CausalLanguageModel,
  options: GenerateOptions,
): Promise<SampledTokens[]> {
  const {
    prompts,
    maxNewTokens,
    temperature = 1,
    topK = 0,
    topP = 1,
    stopTokenIds = [],
    useCache = true,
  } = options;
  const { vocabSize, contextLength } = model.config;
  assertPositiveInteger('maxNewTokens', maxNewTokens, 0);
  assertSamplingSettings({ temperature, topK, topP });
  assertTokenIds('prompts', prompts, vocabSize, { nonEmpty: true });
  if (prompts.length === 0) return [];
  const eosTokenId =
    options.eosTokenId === undefined ? model.config.eosTokenId : options.eosTokenId;
  const padTokenId = options.padTokenId ?? model.config.eosTokenId;
  const stops = new Set(stopTokenIds);
  const random = options.random ?? new Random(options.seed ?? 0);
  const batchSize = prompts.length;
  const promptWidth = Math.max(...prompts.map((prompt) => prompt.length));
  if (promptWidth > contextLength) {
    throw new InvalidArgumentError({
      argument: 'prompts',
      value: promptWidth,
      message: `the longest prompt exceeds contextLength = ${contextLength}`,
    });
  }
  const rows: number[][] = [];
  const attentionMask: number[][] = [];
  const positionIds: number[][] = [];
  const nextPosition: number[] = [];
  for (const prompt of prompts) {
    const padding = promptWidth - prompt.length;
    rows.push([...new Array<number>(padding).fill(padTokenId), ...prompt]);
    attentionMask.push([
      ...new Array<number>(padding).fill(0),
      ...new Array<number>(prompt.length).fill(1),
    ]);
    positionIds.push([...new Array<number>(padding).fill(0), ...prompt.map((_, index) => index)]);
    nextPosition.push(prompt.length);
  }
  const results: SampledTokens[] = prompts.map(() => ({
    tokenIds: [],
    logProbsPerToken: [],
    finishReason: 'length',
  }));
  const finished = new Array<boolean>(batchSize).fill(false);
  prompts.forEach((prompt, b) => {
    if (prompt.length >= contextLength) finished[b] = true;
  });
  let cache: LayerKeyValue[] | undefined;
  let pendingIds: number[][] = rows;
  let pendingPositions: number[][] = positionIds;
  const disposeCache = (): void => {
    if (cache) for (const { key, value } of cache) tf.dispose([key, value]);
    cache = undefined;
  };
  try {
    for (let step = 0; step < maxNewTokens; step++) {
      const { logits, presentKeyValues } = model.forward(useCache ? pendingIds : rows, {
        ...(useCache && cache ? { pastKeyValues: cache } : {}),
        positionIds: useCache ? pendingPositions : positionIds,
        attentionMask,
      });
      disposeCache();
      if (useCache) cache = presentKeyValues;
      else for (const { key, value } of presentKeyValues) tf.dispose([key, value]);
      const queryLength = logits.shape[1];
      const last = tf.tidy(() =>
        logits
          .slice([0, queryLength - 1, 0], [batchSize, 1, vocabSize])
          .reshape([batchSize, vocabSize]),
      );
      logits.dispose();
      const values = (await last.data()) as Float32Array;
      last.dispose();
      const chosen: number[] = [];
      for (let b = 0; b < batchSize; b++) {
        if (finished[b]) {
          chosen.push(padTokenId);
          continue;
        }
        const row = values.subarray(b * vocabSize, (b + 1) * vocabSize);
        const logProbs = logSoftmaxRow(row, temperature === 0 ? 1 : temperature);
        const token =
          temperature === 0 ? argmax(logProbs) : sampleTruncated(logProbs, topK, topP, random);
        const result = results[b] as SampledTokens;
        result.tokenIds.push(token);
        result.logProbsPerToken.push(logProbs[token] as number);
        chosen.push(token);
        if (eosTokenId !== null && token === eosTokenId) {
          finished[b] = true;
          result.finishReason = 'eos';
        } else if (stops.has(token)) {
          finished[b] = true;
          result.finishReason = 'stop';
        } else if (
          (prompts[b] as readonly number[]).length + result.tokenIds.length >=
          contextLength
        ) {
          // The whole sequence must stay scorable by the same model: at most contextLength tokens.
          finished[b] = true;
        }
      }
      if (finished.every(Boolean)) break;
      pendingIds = chosen.map((token) => [token]);
      pendingPositions = nextPosition.map((position) => [Math.min(position, contextLength - 1)]);
      for (let b = 0; b < batchSize; b++) {
        (rows[b] as number[]).push(chosen[b] as number);
        (attentionMask[b] as number[]).push(finished[b] ? 0 : 1);
        (positionIds[b] as number[]).push(Math.min(nextPosition[b] as number, contextLength - 1));
        nextPosition[b] = (nextPosition[b] as number) + 1;
      }
    }
  } finally {
    disposeCache();
  }
  return results;
}
