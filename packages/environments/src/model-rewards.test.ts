import { type Featurizer, NonFiniteError, type RewardContext } from '@cohort/core';
import { describe, expect, it } from 'vitest';
import { classifierReward } from './classifier-reward';
import { compositeReward } from './composite-reward';
import { cosineSimilarity, embeddingSimilarityReward } from './embedding-similarity-reward';
import { humanFeedbackReward } from './human-feedback-reward';

/** A real featurizer: counts of each lower-cased letter a-z, hashed into `dimension` buckets. */
class CharacterCountFeaturizer implements Featurizer {
  readonly name = 'character-counts';
  calls = 0;
  constructor(readonly dimension = 26) {}
  async featurize(texts: readonly string[]): Promise<number[][]> {
    this.calls += 1;
    return texts.map((text) => {
      const vector = new Array<number>(this.dimension).fill(0);
      for (const character of text.toLowerCase()) {
        const code = character.charCodeAt(0) - 97;
        if (code >= 0 && code < 26) vector[code % this.dimension]! += 1;
      }
      return vector;
    });
  }
}

function turn(completion: string): RewardContext {
  return {
    scenario: null,
    messages: [],
    completion,
    turnIndex: 0,
    done: true,
    completionTokenCount: 3,
  };
}

describe('cosineSimilarity', () => {
  it('matches hand values', () => {
    expect(cosineSimilarity([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineSimilarity([2, 1], [1, 1])).toBeCloseTo(3 / Math.sqrt(10), 12);
    expect(cosineSimilarity([1, 2], [-1, -2])).toBeCloseTo(-1, 12);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
    expect(cosineSimilarity([1e-200, 0], [1e-200, 0])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1e200, 1e200], [1e200, 0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineSimilarity([3, 4], [3e-300, 4e-300])).toBeCloseTo(1, 12);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/b/);
    expect(() => cosineSimilarity([1, Number.NaN], [1, 2])).toThrow(/a\[1\] is NaN/);
  });
});

describe('embeddingSimilarityReward', () => {
  it('is the cosine to the closest reference, or the mean', async () => {
    const featurizer = new CharacterCountFeaturizer();
    // 'aab' -> (a 2, b 1); references 'ab' -> (1, 1) and 'cd' -> disjoint
    const max = embeddingSimilarityReward({ featurizer, references: ['ab', 'cd'] });
    expect(await max.score(turn('aab'))).toBeCloseTo(3 / Math.sqrt(10), 12);
    const mean = embeddingSimilarityReward({
      featurizer,
      references: ['ab', 'cd'],
      aggregate: 'mean',
    });
    expect(await mean.score(turn('aab'))).toBeCloseTo(3 / Math.sqrt(10) / 2, 12);
    expect(await max.score(turn('ba'))).toBeCloseTo(1, 12);
    expect(await max.score(turn(''))).toBe(0);
  });

  it('embeds fixed references once, and per-context references each time', async () => {
    const featurizer = new CharacterCountFeaturizer();
    const reward = embeddingSimilarityReward({ featurizer, references: ['refund'] });
    for (let index = 0; index < 3; index++) await reward.score(turn('refund'));
    expect(featurizer.calls).toBe(4);
    const perContext = embeddingSimilarityReward({
      featurizer,
      references: (context) => [context.completion.toUpperCase()],
    });
    expect(await perContext.score(turn('anything'))).toBeCloseTo(1, 12);
  });

  it('reports a featurizer that returns NaN or wrong sizes', async () => {
    const broken: Featurizer = {
      name: 'broken',
      dimension: 2,
      featurize: async (texts) => texts.map(() => [Number.NaN, 1]),
    };
    const reward = embeddingSimilarityReward({ featurizer: broken, references: ['x'] });
    await expect(reward.score(turn('y'))).rejects.toThrow(NonFiniteError);
    const short: Featurizer = {
      name: 'short',
      dimension: 3,
      featurize: async (texts) => texts.map(() => [1]),
    };
    await expect(
      embeddingSimilarityReward({ featurizer: short, references: ['x'] }).score(turn('y')),
    ).rejects.toThrow(/dimension = 3/);
    expect(() =>
      embeddingSimilarityReward({ featurizer: {} as Featurizer, references: ['x'] }),
    ).toThrow(/featurizer/);
  });
});

/** A real lexicon classifier: the share of positive words among sentiment words. */
async function sentiment(text: string) {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  const positive = words.filter((word) =>
    ['great', 'thanks', 'glad', 'happy'].includes(word),
  ).length;
  const negative = words.filter((word) => ['bad', 'sorry', 'cannot', 'no'].includes(word)).length;
  const total = positive + negative;
  const score = total === 0 ? 0.5 : positive / total;
  return [
    { label: 'POSITIVE', score },
    { label: 'NEGATIVE', score: 1 - score },
  ];
}

describe('classifierReward', () => {
  it('is weight times the score of the label', async () => {
    const reward = classifierReward({ classify: sentiment, label: 'positive', weight: 2 });
    // 'great' and 'glad' positive, 'sorry' negative: 2/3
    expect(await reward.score(turn('Great, glad to help, sorry for the wait.'))).toBeCloseTo(
      4 / 3,
      12,
    );
    expect(await reward.score(turn('Nothing here.'))).toBeCloseTo(1, 12);
  });

  it('is 0 for a missing label and reports non-finite scores', async () => {
    expect(await classifierReward({ classify: sentiment, label: 'toxic' }).score(turn('x'))).toBe(
      0,
    );
    const broken = classifierReward({
      classify: async () => [{ label: 'a', score: Number.NaN }],
      label: 'a',
    });
    await expect(broken.score(turn('x'))).rejects.toThrow(NonFiniteError);
    await expect(broken.score(turn('x'))).rejects.toThrow(/classifier score of a is NaN/);
    expect(() => classifierReward({ classify: 'nope' as never, label: 'a' })).toThrow(/classify/);
  });
});

describe('humanFeedbackReward', () => {
  it('returns the answer, or null when skipped', async () => {
    const answers = [4, null];
    const reward = humanFeedbackReward({ ask: async () => answers.shift() ?? null, range: [0, 5] });
    expect(await reward.score(turn('x'))).toBe(4);
    expect(await reward.score(turn('x'))).toBeNull();
    expect(reward.stats).toEqual({ asked: 2, answered: 1, skipped: 1, timedOut: 0 });
  });

  it('times out to null, counts it, calls onTimeout and aborts the question', async () => {
    const timedOut: string[] = [];
    let aborted = false;
    const reward = humanFeedbackReward({
      ask: (_context, { signal }) =>
        new Promise<number>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          setTimeout(() => resolve(5), 500);
        }),
      timeoutMs: 20,
      onTimeout: (context) => timedOut.push(context.completion),
    });
    expect(await reward.score(turn('slow'))).toBeNull();
    expect(reward.stats.timedOut).toBe(1);
    expect(timedOut).toEqual(['slow']);
    expect(aborted).toBe(true);
  });

  it('rejects non-finite and out-of-range answers, and a composite keeps going', async () => {
    const nan = humanFeedbackReward({ ask: () => Number.NaN });
    await expect(nan.score(turn('x'))).rejects.toThrow(NonFiniteError);
    const outOfRange = humanFeedbackReward({ name: 'rating', ask: () => 11, range: [1, 10] });
    await expect(outOfRange.score(turn('x'))).rejects.toThrow(/rating feedback = 11/);
    const composite = compositeReward({
      components: [
        { reward: outOfRange },
        { reward: classifierReward({ classify: sentiment, label: 'POSITIVE' }) },
      ],
    });
    const result = await composite.scoreDetailed(turn('thanks'));
    expect(result.total).toBe(1);
    expect(result.errors.rating).toMatch(/InvalidArgumentError/);
    expect(() => humanFeedbackReward({ ask: () => 1, range: [2, 1] })).toThrow(/range/);
  });
});
