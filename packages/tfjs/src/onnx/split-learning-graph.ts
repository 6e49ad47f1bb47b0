import { InvalidArgumentError } from '@cohort/core';
import type * as onnxModule from 'onnx-proto';
import { onnx } from './onnx-graph-builder';

/** What {@link splitLearningGraph} returns. */
export interface SplitLearningGraph {
  /**
   * The forward half: the learning graph's inputs it reads; outputs `logp`,
   * `entropy` and every name of {@link SplitLearningGraph.saved}.
   */
  forward: Uint8Array;
  /**
   * The backward half: inputs `d_logp`, `d_entropy`, the learning graph's
   * other inputs it reads, and every name of `saved`; outputs the gradients.
   */
  backward: Uint8Array;
  /**
   * The activations that cross from the forward half to the backward half
   * (float32, in node order): every value the backward pass reads that the
   * forward pass computed from the weights.
   */
  saved: string[];
}

/** The inputs of one batch that are no weight: values computed from them alone are recomputed, not saved. */
const batchInputs = new Set(['input_ids', 'attention_mask']);

/**
 * Splits a learning graph (`buildGptLearningGraph` or
 * `buildLlamaLearningGraph` with `withGradients`) into a forward half and a
 * backward half, so that a caller can run the forward pass, compute `d_logp`
 * and `d_entropy` from its `logp` and `entropy` (a policy-gradient objective
 * needs them first), and run only the backward half with the activations the
 * forward half handed over: one forward pass per step instead of two.
 *
 * The forward half is every node that `logp` or `entropy` depends on; the
 * backward half is every other node, plus the cheap nodes computed from the
 * batch's ids and mask alone (shapes, positions, the causal mask, the
 * targets), which it recomputes rather than receive. Every other value the
 * backward half reads from the forward half becomes an output of one and an
 * input of the other. Both halves run the learning graph's own ops, so they
 * compute the same values.
 *
 * Throws `InvalidArgumentError` when `model` has no `logp`, `entropy` or
 * gradient outputs.
 *
 * @example
 * ```ts
 * const { forward, backward, saved } = splitLearningGraph(buildGptLearningGraph({ config, withGradients: true }).model);
 * ```
 */
export function splitLearningGraph(model: Uint8Array): SplitLearningGraph {
  const decoded = onnx.ModelProto.decode(model);
  const graph = decoded.graph;
  const outputNames = (graph?.output ?? []).map((output) => output.name ?? '');
  if (
    graph === null ||
    graph === undefined ||
    !outputNames.includes('logp') ||
    !outputNames.includes('entropy') ||
    !outputNames.some((name) => name.startsWith('gradient.'))
  ) {
    throw new InvalidArgumentError({
      argument: 'model',
      value: outputNames,
      message: "must be a learning graph with gradients (outputs 'logp', 'entropy', 'gradient.*')",
    });
  }
  const nodes = graph.node ?? [];
  const initializerNames = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ''));
  const producer = new Map<string, number>();
  nodes.forEach((node, index) => {
    for (const output of node.output ?? []) producer.set(output, index);
  });
  const inputsOf = (index: number) => (nodes[index]?.input ?? []).filter((name) => name !== '');

  /** The nodes `names` depend on, `names`' producers included. */
  const ancestors = (names: readonly string[], within?: ReadonlySet<number>): Set<number> => {
    const found = new Set<number>();
    const pending = [...names];
    while (pending.length > 0) {
      const index = producer.get(pending.pop() as string);
      if (index === undefined || found.has(index) || (within && !within.has(index))) continue;
      found.add(index);
      pending.push(...inputsOf(index));
    }
    return found;
  };
  const forwardNodes = ancestors(['logp', 'entropy']);
  // Values computed from the batch's ids and mask and constants alone (nodes are in topological order).
  const batchOnly = new Set([...batchInputs, ...initializerNames]);
  const cheapNodes = new Set<number>();
  nodes.forEach((node, index) => {
    if (inputsOf(index).every((name) => batchOnly.has(name))) {
      cheapNodes.add(index);
      for (const output of node.output ?? []) batchOnly.add(output);
    }
  });
  const saved: string[] = [];
  const recomputed: string[] = [];
  nodes.forEach((_, index) => {
    if (forwardNodes.has(index)) return;
    for (const name of inputsOf(index)) {
      const from = producer.get(name);
      if (from === undefined || !forwardNodes.has(from)) continue;
      if (cheapNodes.has(from)) recomputed.push(name);
      else if (!saved.includes(name)) saved.push(name);
    }
  });
  const recomputedNodes = ancestors(recomputed, cheapNodes);
  const backwardNodes = new Set(
    nodes.map((_, index) => index).filter((i) => !forwardNodes.has(i) || recomputedNodes.has(i)),
  );

  const float = onnx.TensorProto.DataType.FLOAT;
  const savedInfo = (name: string): onnxModule.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: float } },
  });
  const half = (
    members: ReadonlySet<number>,
    name: string,
    extraInputs: onnxModule.onnx.IValueInfoProto[],
    outputs: onnxModule.onnx.IValueInfoProto[],
  ): Uint8Array => {
    const kept = nodes.filter((_, index) => members.has(index));
    const read = new Set(kept.flatMap((node) => node.input ?? []));
    return onnx.ModelProto.encode(
      onnx.ModelProto.create({
        ...decoded,
        graph: {
          ...graph,
          name: `${graph.name}_${name}`,
          node: kept,
          initializer: (graph.initializer ?? []).filter((tensor) => read.has(tensor.name ?? '')),
          input: [
            ...(graph.input ?? []).filter((input) => read.has(input.name ?? '')),
            ...extraInputs,
          ],
          output: outputs,
        },
      }),
    ).finish();
  };
  const graphOutputs = graph.output ?? [];
  const headOutputs = graphOutputs.filter(({ name }) => name === 'logp' || name === 'entropy');
  return {
    forward: half(
      forwardNodes,
      'forward',
      [],
      [
        ...headOutputs,
        ...saved.filter((name) => name !== 'logp' && name !== 'entropy').map(savedInfo),
      ],
    ),
    backward: half(
      backwardNodes,
      'backward',
      saved.map(savedInfo),
      graphOutputs.filter(({ name }) => name?.startsWith('gradient.')),
    ),
    saved,
  };
}
