import { InvalidArgumentError } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { buildGptLearningGraph } from './gpt-learning-graph';
import { buildLlamaLearningGraph } from './llama-learning-graph';
import { onnx } from './onnx-graph-builder';
import { splitLearningGraph } from './split-learning-graph';

/** Op types whose cost grows with the batch: a forward pass is made of these. */
const heavyOps = ['MatMul', 'Gemm', 'Softmax', 'Exp', 'Sigmoid', 'ReduceMean', 'ReduceSum'];

function summary(model: Uint8Array) {
  const graph = onnx.ModelProto.decode(model).graph!;
  const heavy: Record<string, number> = {};
  for (const node of graph.node ?? [])
    if (heavyOps.includes(node.opType ?? '')) heavy[node.opType!] = (heavy[node.opType!] ?? 0) + 1;
  return {
    heavy,
    inputs: (graph.input ?? []).map(({ name }) => name ?? ''),
    outputs: (graph.output ?? []).map(({ name }) => name ?? ''),
  };
}

const gpt = {
  vocabSize: 37,
  contextLength: 32,
  embeddingSize: 16,
  layerCount: 2,
  headCount: 4,
  eosTokenId: 2,
};
const llama = {
  vocabSize: 29,
  hiddenSize: 16,
  intermediateSize: 20,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  contextLength: 64,
  eosTokenId: 1,
};

describe('splitLearningGraph', () => {
  it.each([
    [
      'gpt2',
      buildGptLearningGraph({ config: gpt, withGradients: true }).model,
      buildGptLearningGraph({ config: gpt, withGradients: false }).model,
    ],
    [
      'llama with LoRA',
      buildLlamaLearningGraph({ config: llama, withGradients: true, lora: { rank: 2 } }).model,
      buildLlamaLearningGraph({ config: llama, withGradients: false, lora: { rank: 2 } }).model,
    ],
  ])(
    '%s: the forward half is the log-probs graph, and the backward half runs none of it again',
    (_family, learning, forwardOnly) => {
      const split = splitLearningGraph(learning);
      const forward = summary(split.forward);
      const backward = summary(split.backward);
      const whole = summary(learning);
      // The forward half does the log-probs graph's work, no more; together the halves do the learning graph's.
      expect(forward.heavy).toEqual(summary(forwardOnly).heavy);
      for (const [op, count] of Object.entries(whole.heavy))
        expect((forward.heavy[op] ?? 0) + (backward.heavy[op] ?? 0), op).toBe(count);
      expect(forward.outputs.slice(0, 2)).toEqual(['logp', 'entropy']);
      expect(forward.outputs.slice(2)).toEqual(split.saved);
      expect(split.saved.length).toBeGreaterThan(0);
      expect(forward.inputs).not.toContain('d_logp');
      expect(forward.outputs.some((name) => name.startsWith('gradient.'))).toBe(false);
      expect(backward.inputs).toEqual(
        expect.arrayContaining(['d_logp', 'd_entropy', ...split.saved]),
      );
      expect(backward.outputs).toEqual(
        whole.outputs.filter((name) => name.startsWith('gradient.')),
      );
    },
  );

  it('refuses a graph without gradients, naming its outputs', () => {
    const forwardOnly = buildGptLearningGraph({ config: gpt, withGradients: false }).model;
    expect(() => splitLearningGraph(forwardOnly)).toThrow(/learning graph with gradients/);
    expect(() => splitLearningGraph(forwardOnly)).toThrow(InvalidArgumentError);
  });
});
