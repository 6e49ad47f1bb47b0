import { InvalidArgumentError } from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { WeightMap } from './weights';

/** Copies named variables into a {@link WeightMap}. */
export function variablesToWeightMap(variables: ReadonlyMap<string, tf.Variable>): WeightMap {
  const weights: WeightMap = {};
  for (const [name, variable] of variables) {
    weights[name] = { shape: [...variable.shape], data: variable.dataSync() as Float32Array };
  }
  return weights;
}

/**
 * Assigns a {@link WeightMap} to named variables. Every variable must be
 * present with its exact shape, and no unknown name may appear; checked before
 * anything is assigned, so a failure leaves the variables untouched.
 */
export function assignWeightMap(
  variables: ReadonlyMap<string, tf.Variable>,
  weights: WeightMap,
): void {
  for (const [name, tensor] of Object.entries(weights)) {
    if (!variables.has(name)) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"]`,
        value: tensor.shape,
        message: `is not a parameter; expected one of ${[...variables.keys()].join(', ')}`,
      });
    }
  }
  for (const [name, variable] of variables) {
    const tensor = weights[name];
    if (tensor === undefined) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"]`,
        value: undefined,
        message: 'is missing',
      });
    }
    const size = tensor.shape.reduce((product, dimension) => product * dimension, 1);
    if (tensor.shape.join(',') !== variable.shape.join(',') || tensor.data.length !== size) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"].shape`,
        value: tensor.shape,
        message: `must be [${variable.shape.join(', ')}] with as many values`,
      });
    }
  }
  for (const [name, variable] of variables) {
    const tensor = weights[name] as WeightMap[string];
    tf.tidy(() => variable.assign(tf.tensor(tensor.data, variable.shape)));
  }
}
