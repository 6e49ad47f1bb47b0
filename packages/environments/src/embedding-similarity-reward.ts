import {
  assertFiniteArray,
  type Featurizer,
  InvalidArgumentError,
  parseWithSchema,
  type RewardContext,
  type RewardFunction,
} from '@cohort/core';
import {
  type EmbeddingSimilarityRewardOptionsInput,
  EmbeddingSimilarityRewardOptionsSchema,
} from './embedding-similarity-reward-options';
import { finiteScore, rewardText } from './reward-text';

/**
 * Cosine similarity `a . b / (|a| |b|)`, computed on each vector divided by its
 * largest magnitude (so 1e-200 and 1e200 entries neither underflow nor
 * overflow); 0 when either vector is all zeros (a text with no features is
 * similar to nothing).
 *
 * @example
 * ```ts
 * cosineSimilarity([1, 0], [1, 1]); // 0.7071...
 * ```
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new InvalidArgumentError({
      argument: 'b',
      value: b,
      message: `has length ${b.length}, expected ${a.length} like a`,
    });
  }
  assertFiniteArray('a', a);
  assertFiniteArray('b', b);
  // Scaling each vector by its largest magnitude first keeps huge and tiny values from overflowing or underflowing.
  let scaleA = 0;
  let scaleB = 0;
  for (let index = 0; index < a.length; index++) {
    scaleA = Math.max(scaleA, Math.abs(a[index]!));
    scaleB = Math.max(scaleB, Math.abs(b[index]!));
  }
  if (scaleA === 0 || scaleB === 0) return 0;
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index++) {
    const x = a[index]! / scaleA;
    const y = b[index]! / scaleB;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return Math.max(-1, Math.min(1, dot / (Math.sqrt(normA) * Math.sqrt(normB))));
}

async function featurizeChecked(
  featurizer: Featurizer,
  texts: readonly string[],
): Promise<number[][]> {
  const vectors = await featurizer.featurize(texts);
  if (!Array.isArray(vectors) || vectors.length !== texts.length) {
    throw new InvalidArgumentError({
      argument: `${featurizer.name ?? 'featurizer'}.featurize(texts)`,
      value: vectors,
      message: `must return one vector per text (${texts.length})`,
    });
  }
  vectors.forEach((vector, index) => {
    if (!Array.isArray(vector) || vector.length !== featurizer.dimension) {
      throw new InvalidArgumentError({
        argument: `${featurizer.name ?? 'featurizer'} vector ${index}`,
        value: vector,
        message: `must have length dimension = ${featurizer.dimension}`,
      });
    }
    assertFiniteArray(`${featurizer.name ?? 'featurizer'} vector ${index}`, vector);
  });
  return vectors;
}

/**
 * Semantic similarity to reference texts through any {@link Featurizer}
 * (sentence embeddings from `@cohort/transformers`, or your own):
 *
 * r = max_j cos(f(text), f(reference_j))   (or the mean over j),
 *
 * in [-1, 1]. Fixed references are embedded once and cached.
 *
 * @example
 * ```ts
 * const reward = embeddingSimilarityReward({ featurizer, references: ['I have issued a refund.'] });
 * await reward.score(context);
 * ```
 */
export function embeddingSimilarityReward(
  options: EmbeddingSimilarityRewardOptionsInput,
): RewardFunction {
  const parsed = parseWithSchema(
    EmbeddingSimilarityRewardOptionsSchema,
    options,
    'embedding similarity reward options',
  );
  const { featurizer, references } = parsed;
  let cachedReferences: Promise<number[][]> | undefined;
  const referenceVectors = async (context: RewardContext): Promise<number[][]> => {
    if (Array.isArray(references)) {
      cachedReferences ??= featurizeChecked(featurizer, references);
      // A failed embedding must not be cached forever.
      cachedReferences.catch(() => {
        cachedReferences = undefined;
      });
      return cachedReferences;
    }
    const texts = await (
      references as (context: RewardContext) => readonly string[] | Promise<readonly string[]>
    )(context);
    if (!Array.isArray(texts) || texts.length === 0) {
      throw new InvalidArgumentError({
        argument: 'references(context)',
        value: texts,
        message: 'must return a non-empty array of texts',
      });
    }
    return featurizeChecked(featurizer, texts);
  };
  return {
    name: parsed.name,
    scope: parsed.scope,
    async score(context: RewardContext): Promise<number> {
      const [vectors, [textVector]] = await Promise.all([
        referenceVectors(context),
        featurizeChecked(featurizer, [rewardText(context, parsed.target)]),
      ]);
      const similarities = vectors.map((vector) => cosineSimilarity(textVector!, vector));
      const score =
        parsed.aggregate === 'max'
          ? Math.max(...similarities)
          : similarities.reduce((sum, value) => sum + value, 0) / similarities.length;
      return finiteScore(parsed.name, score);
    },
  };
}
