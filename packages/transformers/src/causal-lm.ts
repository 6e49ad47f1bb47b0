import { InvalidArgumentError } from '@cohort/core';
import { DynamicCache, type PreTrainedModel, Tensor } from '@huggingface/transformers';

/** Key/value cache of a {@link CausalLm}, as returned by one forward call and passed to the next. */
export interface CausalLmCache {
  /** transformers.js cache of `past_key_values.*` tensors. */
  readonly pastKeyValues: DynamicCache;
  /** Positions already in the cache. */
  readonly length: number;
}

/** Input of {@link CausalLm.forward}: a rectangular (padded) batch. */
export interface CausalLmForwardInput {
  /** `[B, T]` token ids. */
  tokenIds: readonly (readonly number[])[];
  /** `[B, past + T]`: 1 for real tokens, 0 for padding. */
  attentionMask: readonly (readonly number[])[];
  /** `[B, T]` position ids. */
  positionIds: readonly (readonly number[])[];
  /** The cache from the previous call on the same batch. */
  cache?: CausalLmCache;
}

/** Output of {@link CausalLm.forward}. */
export interface CausalLmForwardOutput {
  /** `[B, T, V]` next-token logits, row-major. */
  logits: Float32Array;
  vocabSize: number;
  /** The cache to pass to the next call. */
  cache: CausalLmCache;
}

function int64Tensor(rows: readonly (readonly number[])[], argument: string): Tensor {
  const width = rows[0]?.length ?? 0;
  const values = new BigInt64Array(rows.length * width);
  rows.forEach((row, b) => {
    if (row.length !== width) {
      throw new InvalidArgumentError({
        argument: `${argument}[${b}].length`,
        value: row.length,
        message: `must equal ${argument}[0].length = ${width}`,
      });
    }
    for (let t = 0; t < width; t++) values[b * width + t] = BigInt(row[t] as number);
  });
  return new Tensor('int64', values, [rows.length, width]);
}

/**
 * A frozen transformers.js causal LM (ONNX Runtime) seen as a function from a
 * padded batch of token ids to next-token logits, with its key/value cache kept
 * between calls. Works for every decoder whose ONNX graph takes `input_ids`,
 * `attention_mask` (and `position_ids` when it has that input) and
 * `past_key_values.*`, and returns `logits` and `present.*`, which is the
 * layout transformers.js uses for its text-generation models.
 *
 * @example
 * ```ts
 * const { model } = await loadCausalLm({ model: 'tiny-chat' });
 * const { logits, vocabSize } = await model.forward({ tokenIds: [[5, 6]], attentionMask: [[1, 1]], positionIds: [[0, 1]] });
 * ```
 */
export class CausalLm {
  readonly model: PreTrainedModel;
  /** Longest sequence the model's position embeddings allow, when the config says. */
  readonly maxPositions: number | undefined;

  constructor(model: PreTrainedModel) {
    this.model = model;
    const config = model.config as unknown as Record<string, unknown>;
    const limit = config.n_positions ?? config.max_position_embeddings;
    this.maxPositions = typeof limit === 'number' && limit > 0 ? limit : undefined;
  }

  /** Runs one forward pass; every position's logits come back. */
  async forward(input: CausalLmForwardInput): Promise<CausalLmForwardOutput> {
    const batchSize = input.tokenIds.length;
    const length = input.tokenIds[0]?.length ?? 0;
    if (batchSize === 0 || length === 0) {
      throw new InvalidArgumentError({
        argument: 'tokenIds',
        value: [batchSize, length],
        message: 'must hold at least one row of at least one token',
      });
    }
    const pastLength = input.cache?.length ?? 0;
    if (input.attentionMask[0]?.length !== pastLength + length) {
      throw new InvalidArgumentError({
        argument: 'attentionMask[0].length',
        value: input.attentionMask[0]?.length,
        message: `must equal past ${pastLength} + new ${length} positions`,
      });
    }
    const feeds: Record<string, unknown> = {
      input_ids: int64Tensor(input.tokenIds, 'tokenIds'),
      attention_mask: int64Tensor(input.attentionMask, 'attentionMask'),
      position_ids: int64Tensor(input.positionIds, 'positionIds'),
    };
    if (input.cache) feeds.past_key_values = input.cache.pastKeyValues;
    const outputs = (await (
      this.model as unknown as { forward(feeds: Record<string, unknown>): Promise<unknown> }
    ).forward(feeds)) as Record<string, Tensor>;
    const logits = outputs.logits;
    if (logits?.dims.length !== 3 || logits.dims[1] !== length) {
      throw new InvalidArgumentError({
        argument: 'model',
        value: logits?.dims,
        message: `must return logits [${batchSize}, ${length}, vocab]`,
      });
    }
    const entries: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      // transformers.js names the cache `present.*` on the way out and `past_key_values.*` on the way in.
      if (name.startsWith('present')) entries[name.replace('present', 'past_key_values')] = tensor;
    }
    return {
      logits: logits.data as Float32Array,
      vocabSize: logits.dims[2] as number,
      cache: { pastKeyValues: new DynamicCache(entries), length: pastLength + length },
    };
  }

  /**
   * Raw next-token logits of whole sequences in one batched pass (right
   * padding): `result[i]` is `[len_i, V]` row-major, row `t` predicting token
   * `t + 1`.
   */
  async sequenceLogits(
    sequences: readonly (readonly number[])[],
    padTokenId: number,
  ): Promise<{ logits: Float32Array[]; vocabSize: number }> {
    sequences.forEach((sequence, index) => {
      if (sequence.length === 0) {
        throw new InvalidArgumentError({
          argument: `sequences[${index}]`,
          value: sequence,
          message: 'must hold at least one token',
        });
      }
      if (this.maxPositions !== undefined && sequence.length > this.maxPositions) {
        throw new InvalidArgumentError({
          argument: `sequences[${index}].length`,
          value: sequence.length,
          message: `exceeds the model's ${this.maxPositions} positions`,
        });
      }
    });
    const width = Math.max(...sequences.map((sequence) => sequence.length));
    const tokenIds = sequences.map((sequence) => [
      ...sequence,
      ...new Array<number>(width - sequence.length).fill(padTokenId),
    ]);
    const attentionMask = sequences.map((sequence) =>
      Array.from({ length: width }, (_, t) => (t < sequence.length ? 1 : 0)),
    );
    const positionIds = sequences.map((sequence) =>
      Array.from({ length: width }, (_, t) => (t < sequence.length ? t : 0)),
    );
    const { logits, vocabSize } = await this.forward({ tokenIds, attentionMask, positionIds });
    return {
      logits: sequences.map((sequence, b) =>
        logits.slice(b * width * vocabSize, (b * width + sequence.length) * vocabSize),
      ),
      vocabSize,
    };
  }
}
