import type { CandidateActor, RewardCritic } from '@cohort/core';
import { InvalidArgumentError, NonFiniteError, parseWithSchema } from '@cohort/core';
import { createMlpModel, type MlpModel, type WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import {
  type CandidateMlpOptions,
  type CandidateMlpOptionsInput,
  CandidateMlpOptionsSchema,
} from './candidate-mlp-options';

function mlp(options: CandidateMlpOptions, finalLayerScale: number): MlpModel {
  // createMlpModel leaves the initial-value tensors of its variables alive; a scope drops
  // them (variables outlive scopes), so that clones and snapshots do not pile up.
  tf.engine().startScope();
  try {
    return createMlpModel({
      layerSizes: [options.featureSize, ...options.hiddenSizes, 1],
      activation: options.activation,
      finalLayerScale,
      seed: options.seed,
    });
  } finally {
    tf.engine().endScope();
  }
}

/**
 * Packs `[batch][K][featureSize]` numbers into a float32 tensor, checking every
 * row's length and that every value is finite in float32 (1e39 is a finite
 * double but overflows to Infinity in float32).
 */
function featureTensor(
  name: string,
  rows: readonly (readonly (readonly number[])[])[],
  featureSize: number,
): tf.Tensor3D {
  const batch = rows.length;
  const count = rows[0]?.length ?? 0;
  const values = new Float32Array(batch * count * featureSize);
  rows.forEach((candidates, row) => {
    if (candidates.length !== count) {
      throw new InvalidArgumentError({
        argument: `${name}[${row}].length`,
        value: candidates.length,
        message: `every row needs the same number of candidates as ${name}[0] (${count})`,
      });
    }
    candidates.forEach((features, column) => {
      if (features.length !== featureSize) {
        throw new InvalidArgumentError({
          argument: `${name}[${row}][${column}].length`,
          value: features.length,
          message: `must equal featureSize ${featureSize}`,
        });
      }
      const offset = (row * count + column) * featureSize;
      values.set(features, offset);
      for (let index = 0; index < featureSize; index++) {
        if (!Number.isFinite(values[offset + index]!)) {
          throw new NonFiniteError({
            quantity: `${name}[${row}][${column}][${index}]`,
            value: features[index]!,
            context: 'as float32',
          });
        }
      }
    });
  });
  return tf.tensor3d(values, [batch, count, featureSize]);
}

/**
 * What the actor and the critic share: a validated MLP with one output and its
 * variables and weights under the stable names `layers.{i}.weight|bias`.
 */
export abstract class CandidateMlp {
  readonly options: CandidateMlpOptions;
  readonly model: MlpModel;

  protected constructor(options: CandidateMlpOptionsInput, what: string, finalLayerScale: number) {
    this.options = parseWithSchema(CandidateMlpOptionsSchema, options, what);
    this.model = mlp(this.options, finalLayerScale);
  }

  trainableVariables(): readonly tf.Variable[] {
    return this.model.trainableVariables();
  }

  /** The variables under the stable names of {@link getWeights} (`layers.{i}.weight`, `layers.{i}.bias`). */
  namedVariables(): Record<string, tf.Variable> {
    return this.model.namedVariables();
  }

  getWeights(): WeightMap {
    return this.model.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.model.setWeights(weights);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The actor of the candidate selector: one MLP scores each candidate's feature
 * vector, `s_k = f_theta(x_k)`, and the policy over the K candidates of a query
 * is `pi(k) = softmax(s)_k` (a Plackett-Luce/softmax choice model over shared
 * scores, as in the actor-critic candidate selection of the GPRO formulation).
 * The last layer starts at zero, so the first policy is uniform over candidates
 * and any K works with the same weights.
 *
 * @example
 * ```ts
 * const actor = new MlpCandidateActor({ featureSize: 64, hiddenSizes: [32], seed: 1 });
 * const logits = actor.logits([[featuresOfCandidate0, featuresOfCandidate1]]); // [1, 2]
 * const initial = actor.clone(); // frozen reference for the KL term
 * ```
 */
export class MlpCandidateActor
  extends CandidateMlp
  implements CandidateActor<tf.Tensor, tf.Variable>
{
  constructor(options: CandidateMlpOptionsInput) {
    super(options, 'candidate actor options', 0);
  }

  /** Scores `[batch, K]` for `candidateFeatures [batch][K][featureSize]`, differentiable. */
  logits(candidateFeatures: readonly (readonly (readonly number[])[])[]): tf.Tensor {
    return tf.tidy(() => {
      const input = featureTensor('candidateFeatures', candidateFeatures, this.options.featureSize);
      const [batch, count] = input.shape;
      return this.model
        .predict(input.reshape([batch * count, this.options.featureSize]))
        .reshape([batch, count]);
    });
  }

  /** An independent copy with the same weights (its own variables): the frozen initial actor of the KL term. */
  clone(): MlpCandidateActor {
    const copy = new MlpCandidateActor(this.options);
    copy.setWeights(this.getWeights());
    return copy;
  }
}

/**
 * The critic of the candidate selector: an MLP that predicts the reward of
 * (prompt, query, response) from its feature vector, `V(x) = g_phi(x)`,
 * trained by the GPRO optimizer on the mean squared error `mean (V(x) - r)^2`.
 *
 * @example
 * ```ts
 * const critic = new MlpRewardCritic({ featureSize: 64, seed: 2 });
 * const predicted = critic.predict([featuresOfChosenResponse]); // [1]
 * ```
 */
export class MlpRewardCritic extends CandidateMlp implements RewardCritic<tf.Tensor, tf.Variable> {
  constructor(options: CandidateMlpOptionsInput) {
    super(options, 'reward critic options', 1);
  }

  /** Predicted rewards `[batch]` for `features [batch][featureSize]`, differentiable. */
  predict(features: readonly (readonly number[])[]): tf.Tensor {
    return tf.tidy(() => {
      const input = featureTensor(
        'features',
        features.map((row) => [row]),
        this.options.featureSize,
      );
      return this.model
        .predict(input.reshape([features.length, this.options.featureSize]))
        .reshape([features.length]);
    });
  }

  /** An independent copy with the same weights. */
  clone(): MlpRewardCritic {
    const copy = new MlpRewardCritic(this.options);
    copy.setWeights(this.getWeights());
    return copy;
  }
}
