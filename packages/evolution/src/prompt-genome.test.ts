import { InvalidArgumentError, Random } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { applyPromptEdit, crossoverPrompts, editPrompt } from './prompt-edits';
import { promptGenome, type RewriteRequest } from './prompt-genome';
import { normalizedEditDistance, splitSentences, tokenJaccardDistance } from './prompt-text';
import { createSpliceRewriter } from './splice-rewriter';

const phrases = [
  'Be concise.',
  'Cite the refund policy.',
  'Greet the customer.',
  'Never promise dates.',
];

/** Reference Levenshtein, written recursively with memoization (independent of the two-row DP). */
function referenceLevenshtein(a: string, b: string): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = `${i},${j}`;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    const result = Math.min(
      go(i - 1, j) + 1,
      go(i, j - 1) + 1,
      go(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1),
    );
    memo.set(key, result);
    return result;
  };
  return go(a.length, b.length);
}

describe('prompt text', () => {
  it('splits sentences at punctuation and line breaks', () => {
    expect(splitSentences('Be brief. Cite sources!\nAsk first?  Done')).toEqual([
      'Be brief.',
      'Cite sources!',
      'Ask first?',
      'Done',
    ]);
    expect(splitSentences('   ')).toEqual([]);
  });

  it('computes token Jaccard distance by hand', () => {
    expect(tokenJaccardDistance('be brief', 'be kind')).toBeCloseTo(1 - 1 / 3, 12);
    expect(tokenJaccardDistance('Be brief.', 'be BRIEF')).toBe(0);
    expect(tokenJaccardDistance('', '')).toBe(0);
    expect(tokenJaccardDistance('a', '')).toBe(1);
  });

  it('computes normalized edit distance against a reference', () => {
    expect(normalizedEditDistance('kitten', 'sitting')).toBeCloseTo(3 / 7, 12);
    expect(normalizedEditDistance('', '')).toBe(0);
    expect(normalizedEditDistance('abc', '')).toBe(1);
    const random = new Random(9);
    for (let trial = 0; trial < 50; trial++) {
      const a = Array.from({ length: random.int(0, 12) }, () =>
        random.choice(['a', 'b', 'c']),
      ).join('');
      const b = Array.from({ length: random.int(0, 12) }, () =>
        random.choice(['a', 'b', 'c']),
      ).join('');
      const expected =
        a.length + b.length === 0 ? 0 : referenceLevenshtein(a, b) / Math.max(a.length, b.length);
      expect(normalizedEditDistance(a, b)).toBeCloseTo(expected, 12);
    }
  });
});

describe('rule-based prompt edits', () => {
  const options = { phrases };
  const base = ['You are a support agent.', 'Answer in English.'];

  it('applies each edit as specified', () => {
    const random = new Random(1);
    const inserted = applyPromptEdit(base, 'insert', options, random);
    expect(inserted).toHaveLength(3);
    expect(inserted.filter((sentence) => phrases.includes(sentence))).toHaveLength(1);
    expect(applyPromptEdit(base, 'delete', options, random)).toHaveLength(1);
    const replaced = applyPromptEdit(base, 'replace', options, random);
    expect(replaced).toHaveLength(2);
    expect(replaced.filter((sentence) => phrases.includes(sentence))).toHaveLength(1);
    expect(applyPromptEdit(base, 'reorder', options, random)).toEqual([...base].reverse());
    const emphasized = applyPromptEdit(['Be concise.'], 'emphasis', options, random);
    expect(emphasized[0]).toMatch(/^(Important|Always): Be concise\.$/);
    expect(applyPromptEdit(emphasized, 'emphasis', options, random)).toEqual(['Be concise.']);
  });

  it('never inserts a phrase twice and refuses edits that cannot apply', () => {
    expect(() => applyPromptEdit(['Only.'], 'reorder', options, new Random(0))).toThrow(
      InvalidArgumentError,
    );
    expect(() => applyPromptEdit(phrases, 'insert', options, new Random(0))).toThrow(
      /edit = "insert"/,
    );
    expect(editPrompt('', { phrases: [] }, new Random(0))).toBe('');
    expect(() => applyPromptEdit(['Only.'], 'delete', options, new Random(0))).toThrow(/delete/);
    expect(
      applyPromptEdit(['Only.'], 'delete', { ...options, minimumSentences: 0 }, new Random(0)),
    ).toEqual([]);
    const random = new Random(2);
    let prompt = '';
    for (let step = 0; step < 200; step++) {
      prompt = editPrompt(
        prompt,
        { phrases, edits: ['insert', 'delete'], minimumSentences: 0 },
        random,
      );
      const sentences = splitSentences(prompt);
      expect(new Set(sentences).size).toBe(sentences.length);
    }
  });

  it('makes crossover children from both parents sentences only', () => {
    const first = 'A one. A two. A three. A four. A five. A six.';
    const second = 'B one. B two. B three.';
    const random = new Random(4);
    const sources = new Set<string>();
    for (let trial = 0; trial < 50; trial++) {
      for (const sentence of splitSentences(crossoverPrompts(first, second, random))) {
        expect(sentence).toMatch(/^[AB] (one|two|three|four|five|six)\.$/);
        sources.add(sentence[0]!);
      }
    }
    expect([...sources].sort()).toEqual(['A', 'B']);
  });
});

describe('promptGenome', () => {
  it('sends mutations and crossovers through the rewriter with the instruction and texts', async () => {
    const requests: RewriteRequest[] = [];
    const splice = createSpliceRewriter({ phrases });
    const kind = promptGenome({
      phrases,
      llmMutationProbability: 1,
      llmCrossoverProbability: 1,
      rewrite: async (request) => {
        requests.push(request);
        return splice(request);
      },
    });
    const mutated = await kind.operators.mutate('You are a support agent.', new Random(0));
    const crossed = await kind.operators.crossover!('A. B.', 'C. D.', new Random(1));
    expect(requests.map((request) => request.texts)).toEqual([
      ['You are a support agent.'],
      ['A. B.', 'C. D.'],
    ]);
    expect(requests[0]!.instruction).toMatch(/Rewrite/);
    expect(requests[1]!.instruction).toMatch(/Cross over/);
    expect(mutated).not.toBe('You are a support agent.');
    for (const sentence of splitSentences(crossed))
      expect(['A.', 'B.', 'C.', 'D.']).toContain(sentence);
  });

  it('falls back to rule-based edits when the rewriter answers nothing', async () => {
    const kind = promptGenome({ phrases, llmMutationProbability: 1, rewrite: async () => '   ' });
    const mutated = await kind.operators.mutate('You are a support agent.', new Random(0));
    expect(mutated.length).toBeGreaterThan(0);
    expect(mutated).not.toBe('You are a support agent.');
  });

  it('uses the rule-based operators only, when no rewriter is given, and is deterministic', async () => {
    const kind = promptGenome({ phrases });
    const first = await kind.operators.mutate('Hello there.', new Random(5));
    const second = await kind.operators.mutate('Hello there.', new Random(5));
    expect(first).toBe(second);
    expect(() => promptGenome({ phrases, llmMutationProbability: 0.5 })).toThrow(/rewrite/);
    expect(() => promptGenome({ phrases: ['ok.', ' '] })).toThrow(/phrases\[1\]/);
  });

  it('rejects a rewriter that returns something other than text', async () => {
    const kind = promptGenome({
      phrases,
      llmMutationProbability: 1,
      rewrite: async () => 42 as unknown as string,
    });
    await expect(kind.operators.mutate('x.', new Random(0))).rejects.toThrow(
      /rewrite\(\.\.\.\) result = 42/,
    );
  });
});
