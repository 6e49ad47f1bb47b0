import { crossoverPrompts, editPrompt } from './prompt-edits';
import type { TextRewriter } from './prompt-genome';

/**
 * A deterministic {@link TextRewriter} that needs no model: it splices
 * sentences. Given two texts it takes each position's sentence from either
 * (like {@link crossoverPrompts}); given one it applies one rule-based edit
 * with the phrase bank. It ignores the instruction. Use it as the no-model
 * baseline of LLM-driven prompt evolution, or where no model is loaded.
 *
 * @example
 * ```ts
 * const rewrite = createSpliceRewriter({ phrases: ['Be concise.'] });
 * await rewrite({ instruction: 'combine', texts: ['A. B.', 'C. D.'], random: new Random(0) });
 * ```
 */
export function createSpliceRewriter(options: { phrases: readonly string[] }): TextRewriter {
  return async ({ texts, random }) => {
    const [first = '', second] = texts;
    if (second !== undefined) return crossoverPrompts(first, second, random);
    return editPrompt(first, { phrases: options.phrases }, random);
  };
}
