import {
  assertFiniteArray,
  assertInteger,
  type Featurizer,
  InvalidArgumentError,
} from '@cohort/core';
import { type LoadPipelineOptions, loadPipeline } from './load-pipeline';

/** How token features become one vector (the transformers.js `pooling` option). */
export type FeaturePooling = 'mean' | 'cls' | 'first_token' | 'eos' | 'last_token';

/**
 * The call signature of a transformers.js `feature-extraction` pipeline:
 * texts in, a `[N, D]` tensor (`data`, `dims`) out when pooled.
 */
export type FeatureExtractionPipelineLike = (
  texts: string[],
  options: { pooling: FeaturePooling; normalize: boolean },
) => Promise<{ data: ArrayLike<number>; dims: readonly number[] }>;

/** Options of {@link featureExtractionFeaturizer}. */
export interface FeatureExtractionFeaturizerOptions {
  /** A loaded pipeline (or any function with its signature); or give `model`. */
  pipeline?: FeatureExtractionPipelineLike;
  /** A model folder (or hub id) to load a `feature-extraction` pipeline from. */
  model?: LoadPipelineOptions;
  /** Default `mean` (attention-masked mean over tokens). */
  pooling?: FeaturePooling;
  /** Scale each vector to unit L2 norm. Default true. */
  normalize?: boolean;
  /** Texts per pipeline call. Default 16. */
  batchSize?: number;
  name?: string;
}

/**
 * The core `Featurizer` over a transformers.js `feature-extraction` pipeline:
 * each text becomes the pooled (by default attention-masked mean) final
 * features of the model, `v = mean_t h_t`, scaled to `v / ||v||_2` when
 * `normalize`. `dimension` is read from one call on a probe text. For a
 * sentence-embedding model these are sentence embeddings; for a causal LM
 * without a hidden-state output, transformers.js pools its logits.
 *
 * @example
 * ```ts
 * const featurizer = await featureExtractionFeaturizer({ model: { model: 'models/all-MiniLM-L6-v2' } });
 * const [vector] = await featurizer.featurize(['where is my order?']);
 * ```
 */
export async function featureExtractionFeaturizer(
  options: FeatureExtractionFeaturizerOptions,
): Promise<Featurizer> {
  const pooling = options.pooling ?? 'mean';
  const normalize = options.normalize ?? true;
  const batchSize = options.batchSize ?? 16;
  assertInteger('batchSize', batchSize, 1);
  let extract = options.pipeline;
  if (extract === undefined) {
    if (options.model === undefined) {
      throw new InvalidArgumentError({
        argument: 'pipeline',
        value: undefined,
        message: 'give a feature-extraction pipeline or a model to load one from',
      });
    }
    extract = (await loadPipeline(
      'feature-extraction',
      options.model,
    )) as FeatureExtractionPipelineLike;
  }
  const run = async (texts: readonly string[]): Promise<number[][]> => {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      const output = await (extract as FeatureExtractionPipelineLike)(batch, {
        pooling,
        normalize,
      });
      const [rows, width] = output.dims;
      if (output.dims.length !== 2 || rows !== batch.length || width === undefined) {
        throw new InvalidArgumentError({
          argument: 'pipeline(...).dims',
          value: output.dims,
          message: `must be [${batch.length}, dimension]: pass a pooling the model supports`,
        });
      }
      for (let row = 0; row < rows; row++) {
        const vector = Array.from(output.data).slice(row * width, (row + 1) * width) as number[];
        assertFiniteArray(`features[${start + row}]`, vector);
        vectors.push(vector);
      }
    }
    return vectors;
  };
  const [probe] = await run(['dimension probe']);
  const dimension = probe?.length ?? 0;
  return {
    name: options.name ?? `feature-extraction:${pooling}`,
    dimension,
    featurize: async (texts) => (texts.length === 0 ? [] : run(texts)),
  };
}
