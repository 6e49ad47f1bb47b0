import type { CandidateActor, RewardCritic } from '@cohort/core';
import { InvalidArgumentError } from '@cohort/core';
import { createMlpModel, type MlpModel, type WeightMap } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** Options of the MLP actor and critic of the candidate selector. */
export interface CandidateMlpOptions {
  /** Length of each feature vector. */
  featureSize: number;
  /** Hidden layer widths (default one layer of 32). */
  hiddenSizes?: readonly number[];
  seed?: number;
}

function mlp(options: CandidateMlpOptions, finalLayerScale: number): MlpModel {
  return createMlpModel({
    layerSizes: [options.featureSize, ...(options.hiddenSizes ?? [32]), 1],
    activation: 'tanh',
    finalLayerScale,
    seed: options.seed ?? 0,
  });
}

function toTensor3d(
  candidateFeatures: readonly (readonly (readonly number[])[])[],
  featureSize: number,
): tf.Tensor3D {
  const batch = candidateFeatures.length;
  const count = candidateFeatures[0]?.length ?? 0;
  const values = new Float32Array(batch * count * featureSize);
  candidateFeatures.forEach((candidates, row) => {
    if (candidates.length !== count) {
      throw new InvalidArgumentError({
        argument: `candidateFeatures[${row}].length`,
        value: candidates.length,
        message: `every transition needs the same number of candidates (${count})`,
      });
    }
    candidates.forEach((features, column) => {
      if (features.length !== featureSize) {
        throw new InvalidArgumentError({
          argument: `candidateFeatures[${row}][${column}].length`,
          value: features.length,
          message: `must equal featureSize ${featureSize}`,
        });
      }
      values.set(features, (row * count + column) * featureSize);
    });
  });
  return tf.tensor3d(values, [batch, count, featureSize]);
}

/**
 * The actor of the candidate selector: an MLP scores each candidate's feature
 * vector, and the policy over the K candidates is the softmax of the scores.
 * Its last layer starts at zero, so the first policy is uniform over candidates.
 */
export class MlpCandidateActor implements CandidateActor<tf.Tensor, tf.Variable> {
  readonly options: CandidateMlpOptions;
  readonly model: MlpModel;

  constructor(options: CandidateMlpOptions) {
    this.options = options;
    this.model = mlp(options, 0);
  }

  logits(candidateFeatures: readonly (readonly (readonly number[])[])[]): tf.Tensor {
    return tf.tidy(() => {
      const input = toTensor3d(candidateFeatures, this.options.featureSize);
      const [batch, count] = input.shape;
      return this.model
        .predict(input.reshape([batch * count, this.options.featureSize]))
        .reshape([batch, count]);
    });
  }

  trainableVariables(): readonly tf.Variable[] {
    return this.model.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.model.namedVariables();
  }

  getWeights(): WeightMap {
    return this.model.toWeightMap();
  }

  setWeights(weights: WeightMap): void {
    this.model.loadWeightMap(weights);
  }

  /** A frozen copy (same weights, its own variables): the reference of the KL term. */
  clone(): MlpCandidateActor {
    const copy = new MlpCandidateActor(this.options);
    copy.setWeights(this.getWeights());
    return copy;
  }
}

/** The critic of the candidate selector: an MLP that predicts the reward from features. */
export class MlpRewardCritic implements RewardCritic<tf.Tensor, tf.Variable> {
  readonly options: CandidateMlpOptions;
  readonly model: MlpModel;

  constructor(options: CandidateMlpOptions) {
    this.options = options;
    this.model = mlp(options, 1);
  }

  predict(features: readonly (readonly number[])[]): tf.Tensor {
    return tf.tidy(() => {
      const input = toTensor3d([features], this.options.featureSize).reshape([
        features.length,
        this.options.featureSize,
      ]);
      return this.model.predict(input).reshape([features.length]);
    });
  }

  trainableVariables(): readonly tf.Variable[] {
    return this.model.trainableVariables();
  }

  namedVariables(): Record<string, tf.Variable> {
    return this.model.namedVariables();
  }

  getWeights(): WeightMap {
    return this.model.toWeightMap();
  }

  setWeights(weights: WeightMap): void {
    this.model.loadWeightMap(weights);
  }
}
