import { type OnnxGraphBuilder, onnx, type ValueSpec } from './onnx-graph-builder';

/**
 * Adds the attention mask of a decoder with a KV cache to the graph, from the
 * shapes of `input_ids` `[B, S]` and `attention_mask` `[B, T]` (`T = past + S`):
 * query `s` may see key `j` when `j <= T - S + s` and `attention_mask[b, j] = 1`.
 * Returns the name of the boolean `[B, 1, S, T]` result.
 */
export function addCausalPaddingMask(g: OnnxGraphBuilder): string {
  const queryLength = g.op('Gather', [g.op('Shape', ['input_ids']), g.int64Constant(1)], {
    axis: 0,
  });
  const keyLength = g.op('Gather', [g.op('Shape', ['attention_mask']), g.int64Constant(1)], {
    axis: 0,
  });
  const pastLength = g.op('Sub', [keyLength, queryLength]);
  const keyIndices = g.op('Range', [g.int64Constant(0), keyLength, g.int64Constant(1)]);
  const queryPositions = g.op('Range', [pastLength, keyLength, g.int64Constant(1)]);
  // causal[s, j] = j <= P + s, shape [S, T]
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [keyIndices, g.int64Constant([0])]),
    g.op('Unsqueeze', [queryPositions, g.int64Constant([1])]),
  ]);
  const notPadding = g.op('Unsqueeze', [
    g.op('Cast', ['attention_mask'], { to: onnx.TensorProto.DataType.BOOL }),
    g.int64Constant([1, 2]),
  ]);
  return g.op(
    'And',
    [g.op('Unsqueeze', [causal, g.int64Constant([0, 1])]), notPadding],
    {},
    'attention_allowed',
  );
}

/**
 * The graph inputs and outputs transformers.js feeds a decoder with a KV
 * cache: `input_ids`, `attention_mask`, `position_ids` (int64) and
 * `past_key_values.{i}.key|value` `[batch, cacheHeads, past, headSize]` in;
 * `logits` `[batch, seq, vocab]` and `present.{i}.key|value` out.
 */
export function decoderValueSpecs(shape: {
  layerCount: number;
  cacheHeads: number;
  headSize: number;
  vocabSize: number;
  /** `logits` of the last position only, `[batch, 1, vocab]` (a sampler's graph). */
  lastPositionOnly?: boolean;
}): { inputs: ValueSpec[]; outputs: ValueSpec[] } {
  const float = onnx.TensorProto.DataType.FLOAT;
  const int64 = onnx.TensorProto.DataType.INT64;
  const inputs: ValueSpec[] = [
    { name: 'input_ids', elementType: int64, dimensions: ['batch_size', 'sequence_length'] },
    {
      name: 'attention_mask',
      elementType: int64,
      dimensions: ['batch_size', 'total_sequence_length'],
    },
    { name: 'position_ids', elementType: int64, dimensions: ['batch_size', 'sequence_length'] },
  ];
  const outputs: ValueSpec[] = [
    {
      name: 'logits',
      elementType: float,
      dimensions: ['batch_size', shape.lastPositionOnly ? 1 : 'sequence_length', shape.vocabSize],
    },
  ];
  for (let layer = 0; layer < shape.layerCount; layer++) {
    for (const part of ['key', 'value']) {
      inputs.push({
        name: `past_key_values.${layer}.${part}`,
        elementType: float,
        dimensions: ['batch_size', shape.cacheHeads, 'past_sequence_length', shape.headSize],
      });
      outputs.push({
        name: `present.${layer}.${part}`,
        elementType: float,
        dimensions: ['batch_size', shape.cacheHeads, 'total_sequence_length', shape.headSize],
      });
    }
  }
  return { inputs, outputs };
}

/**
 * `hidden [batch, seq, width]` cut to its last position, `[batch, 1, width]`:
 * a sampler needs only the next token's logits, so the head (and the copy of
 * `[batch, seq, vocab]` logits out of the session) runs on one row per sequence.
 */
export function lastPosition(g: OnnxGraphBuilder, hidden: string): string {
  return g.op('Slice', [
    hidden,
    g.int64Constant([-1]),
    g.int64Constant([Number.MAX_SAFE_INTEGER]),
    g.int64Constant([1]),
  ]);
}
