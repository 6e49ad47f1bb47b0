/**
 * The Llama shapes the benchmarks share: vocabulary 1024 (the shipped
 * tokenizer's), 2 key/value heads, context 2048, a tied head.
 */
export function benchLlamaConfig(
  hiddenSize: number,
  intermediateSize: number,
  layerCount: number,
  headCount: number,
) {
  return {
    vocabSize: 1024,
    hiddenSize,
    intermediateSize,
    layerCount,
    headCount,
    keyValueHeadCount: 2,
    contextLength: 2048,
    tieWordEmbeddings: true,
  };
}

/** Issue 21's tool agent (0.5M parameters). */
export const toolAgentShape = benchLlamaConfig(128, 352, 2, 4);
/** About 11M parameters. */
export const elevenMillionShape = benchLlamaConfig(384, 1152, 6, 6);
