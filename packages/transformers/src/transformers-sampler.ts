import { InvalidArgumentError, type SampledCompletion, type Tokenizer } from '@cohort/core';
import type { CausalLm, CausalLmCache } from './causal-lm';
import {
  lastPositionLogits,
  type NextTokenStepper,
  runSamplingLoop,
  type SamplingLoopRequest,
  type StepInput,
} from './sampling-loop';

/** Options of {@link TransformersSampler}. */
export interface TransformersSamplerOptions {
  model: CausalLm;
  tokenizer: Tokenizer;
  /** Rows (prompts x group) per forward pass. Default 16. */
  batchSize?: number;
}

/**
 * A {@link NextTokenStepper} over a transformers.js model with its key/value
 * cache; `onLogits` sees every call's full `[B, T, V]` logits (for caches).
 */
export function causalLmStepper(
  model: CausalLm,
  onLogits?: (logits: Float32Array, input: StepInput, vocabSize: number) => void,
): NextTokenStepper {
  let cache: CausalLmCache | undefined;
  let vocabSize = 0;
  const run = async (input: StepInput): Promise<Float32Array> => {
    const output = await model.forward({ ...input, ...(cache ? { cache } : {}) });
    cache = output.cache;
    vocabSize = output.vocabSize;
    onLogits?.(output.logits, input, vocabSize);
    const length = input.tokenIds[0]?.length ?? 0;
    return lastPositionLogits(output.logits, input.tokenIds.length, length, vocabSize);
  };
  return { start: run, step: run };
}

/**
 * Samples groups of completions from a frozen transformers.js causal LM with
 * its own loop over the model's forward pass and key/value cache (not
 * transformers.js `generate`), so that the sampled ids and their log-probs
 * under the temperature-scaled full distribution are kept exactly, and the
 * randomness is the core seeded `Random`. Use it as a candidate generator
 * or to roll out a frozen model; it has the `sample` of a core `Policy`.
 *
 * @example
 * ```ts
 * const { model, tokenizer } = await loadCausalLm({ model: 'models/tiny-chat' });
 * const sampler = new TransformersSampler({ model, tokenizer });
 * const prompt = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello' }]);
 * const completions = await sampler.sample({ prompts: [prompt], groupSize: 4, maxNewTokens: 32, seed: 1, stopTokenIds: [tokenizer.endOfTurnTokenId ?? tokenizer.eosTokenId] });
 * ```
 */
export class TransformersSampler {
  readonly model: CausalLm;
  readonly tokenizer: Tokenizer;
  /** The frozen model never changes: always 0. */
  readonly version = 0;
  private readonly batchSize: number;
  private vocabSize: number | undefined;

  constructor(options: TransformersSamplerOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.batchSize = options.batchSize ?? 16;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new InvalidArgumentError({
        argument: 'batchSize',
        value: options.batchSize,
        message: 'must be a positive integer',
      });
    }
  }

  /** Vocabulary size of the model's logits (one forward pass the first time). */
  async modelVocabSize(): Promise<number> {
    if (this.vocabSize === undefined) {
      const output = await this.model.forward({
        tokenIds: [[this.tokenizer.eosTokenId]],
        attentionMask: [[1]],
        positionIds: [[0]],
      });
      this.vocabSize = output.vocabSize;
    }
    return this.vocabSize;
  }

  /** Samples `groupSize` completions per prompt; ordered prompt-major. */
  async sample(request: SamplingLoopRequest): Promise<SampledCompletion[]> {
    const vocabSize = await this.modelVocabSize();
    return runSamplingLoop({
      request,
      tokenizer: this.tokenizer,
      vocabSize,
      ...(this.model.maxPositions === undefined ? {} : { maxPositions: this.model.maxPositions }),
      batchSize: this.batchSize,
      createStepper: () => causalLmStepper(this.model),
    });
  }

  /** Samples and decodes: `n` texts answering a conversation (for candidates, simulators, rewriters). */
  async generateTexts(options: {
    prompt: readonly number[];
    n: number;
    seed: number;
    maxNewTokens: number;
    temperature?: number;
    topK?: number;
    topP?: number;
    stopStrings?: readonly string[];
  }): Promise<string[]> {
    const stopTokenIds = [this.tokenizer.endOfTurnTokenId ?? this.tokenizer.eosTokenId];
    const completions = await this.sample({
      prompts: [options.prompt],
      groupSize: options.n,
      seed: options.seed,
      maxNewTokens: options.maxNewTokens,
      stopTokenIds,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.topK === undefined ? {} : { topK: options.topK }),
      ...(options.topP === undefined ? {} : { topP: options.topP }),
      ...(options.stopStrings === undefined ? {} : { stopStrings: options.stopStrings }),
    });
    return completions.map((completion) =>
      this.tokenizer.decode(completion.tokenIds, { skipSpecialTokens: true }),
    );
  }
}
