import { assertTokenId, InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { GptForwardOptions, GptForwardResult, LayerKeyValue } from './gpt-model';
import { causalAttentionBias } from './scaled-dot-product-attention';

function toIdRows(
  tokenIds: readonly (readonly number[])[],
  argument: string,
  vocabSize: number,
): Int32Array {
  const batchSize = tokenIds.length;
  const length = tokenIds[0]?.length ?? 0;
  const values = new Int32Array(batchSize * length);
  for (let b = 0; b < batchSize; b++) {
    const row = tokenIds[b] as readonly number[];
    if (row.length !== length) {
      throw new InvalidArgumentError({
        argument: `${argument}[${b}].length`,
        value: row.length,
        message: `must equal ${argument}[0].length = ${length}`,
      });
    }
    for (let t = 0; t < length; t++) {
      const id = row[t] as number;
      assertTokenId(`${argument}[${b}][${t}]`, id, vocabSize);
      values[b * length + t] = id;
    }
  }
  return values;
}

/** The checked sizes, positions and token ids of one forward pass (see {@link checkForwardInputs}). */
export interface ForwardInputs {
  batchSize: number;
  length: number;
  /** Cached positions before the new tokens (from `pastKeyValues`). */
  pastLength: number;
  /** Position id of every token, `[B * T]` row-major. */
  positions: Int32Array;
  /** The token ids as int32 `[B * T]` when given as arrays; undefined for a tensor. */
  idValues: Int32Array | undefined;
}

/**
 * Checks the inputs of a causal LM's forward pass (shared by `GptModel` and
 * `LlamaModel`): a cache with one entry per layer, at least one token,
 * position ids (given, or `positionOffset` / the cached length onwards) that
 * are integers in `[0, contextLength)`, and token ids in `[0, vocabSize)`.
 * Throws `InvalidArgumentError` naming the bad argument.
 */
export function checkForwardInputs(
  tokenIds: readonly (readonly number[])[] | tf.Tensor2D,
  options: GptForwardOptions,
  config: { layerCount: number; contextLength: number; vocabSize: number },
): ForwardInputs {
  const past = options.pastKeyValues;
  if (past !== undefined && past.length !== config.layerCount) {
    throw new InvalidArgumentError({
      argument: 'pastKeyValues.length',
      value: past.length,
      message: `must equal layerCount = ${config.layerCount}`,
    });
  }
  const pastLength = past?.[0]?.key.shape[2] ?? 0;
  const [batchSize, length] = Array.isArray(tokenIds)
    ? [tokenIds.length, (tokenIds[0] as readonly number[] | undefined)?.length ?? 0]
    : (tokenIds as tf.Tensor2D).shape;
  if (batchSize === 0 || length === 0) {
    throw new InvalidArgumentError({
      argument: 'tokenIds',
      value: [batchSize, length],
      message: 'must have at least one sequence of at least one token',
    });
  }
  const positions = new Int32Array(batchSize * length);
  for (let b = 0; b < batchSize; b++) {
    const row = options.positionIds?.[b];
    if (options.positionIds !== undefined && row?.length !== length) {
      throw new InvalidArgumentError({
        argument: `positionIds[${b}]`,
        value: row,
        message: `must hold ${length} positions`,
      });
    }
    for (let t = 0; t < length; t++) {
      const position = row?.[t] ?? (options.positionOffset ?? pastLength) + t;
      if (!Number.isInteger(position) || position < 0 || position >= config.contextLength) {
        throw new InvalidArgumentError({
          argument: `position of token [${b}][${t}]`,
          value: position,
          message: `must be an integer in [0, contextLength = ${config.contextLength})`,
        });
      }
      positions[b * length + t] = position;
    }
  }
  const idValues = Array.isArray(tokenIds)
    ? toIdRows(tokenIds as readonly (readonly number[])[], 'tokenIds', config.vocabSize)
    : undefined;
  return { batchSize, length, pastLength, positions, idValues };
}

/** What a model's layers compute from the inputs that {@link runForward} prepared. */
export interface ForwardBodyResult {
  /** `[B, T, V]` next-token logits. */
  logits: tf.Tensor3D;
  presentKeyValues: LayerKeyValue[];
  /** `[B, T, E]` after the final norm; returned only when `returnHiddenStates` is set. */
  hiddenStates: tf.Tensor3D;
}

/**
 * The scaffolding of a causal LM's forward pass, shared by `GptModel` and
 * `LlamaModel`: checks the inputs ({@link checkForwardInputs}), then in one
 * `tf.tidy` makes the int32 token ids `[B, T]` and the causal attention bias
 * (with the padding mask), runs `body` and keeps only the logits, the cache
 * and (when asked) the hidden states; the caller owns them.
 *
 * @example
 * ```ts
 * return runForward(tokenIds, options, this.config, ({ ids, bias, positions }) => this.layers(ids, bias, positions));
 * ```
 */
export function runForward(
  tokenIds: readonly (readonly number[])[] | tf.Tensor2D,
  options: GptForwardOptions,
  config: { layerCount: number; contextLength: number; vocabSize: number },
  body: (inputs: ForwardInputs & { ids: tf.Tensor2D; bias: tf.Tensor4D }) => ForwardBodyResult,
): GptForwardResult {
  const inputs = checkForwardInputs(tokenIds, options, config);
  const { batchSize, length, pastLength, idValues } = inputs;
  return tf.tidy(() => {
    const ids =
      idValues === undefined
        ? (tokenIds as tf.Tensor2D).toInt()
        : tf.tensor2d(idValues, [batchSize, length], 'int32');
    const bias = causalAttentionBias({
      batchSize,
      queryLength: length,
      pastLength,
      ...(options.attentionMask ? { attentionMask: options.attentionMask } : {}),
    });
    const { logits, presentKeyValues, hiddenStates } = body({ ...inputs, ids, bias });
    return {
      logits,
      presentKeyValues,
      ...(options.returnHiddenStates ? { hiddenStates } : {}),
    } as unknown as tf.TensorContainerObject;
  }) as unknown as GptForwardResult;
}
