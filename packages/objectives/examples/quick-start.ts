import { clippedSurrogateLoss, createObjective } from '@cohort/objectives';
import * as tf from '@tensorflow/tfjs';

const oldLogProbs = tf.tensor2d([
  [-1.0, -0.7, -2.0],
  [-0.3, -1.5, -0.9],
]);
const lossMask = tf.tensor2d([
  [1, 1, 0],
  [1, 1, 1],
]);
const advantages = tf.tensor1d([1.0, -0.5]); // one per sequence
const logits = tf.variable(
  tf.tensor2d([
    [-1.1, -0.5, -2.0],
    [-0.2, -1.6, -1.0],
  ]),
); // stands in for a model
const objective = createObjective({ preset: 'dapo' });
const { value, grads } = tf.variableGrads(
  () =>
    objective.compute({ logProbs: logits, oldLogProbs, advantages, lossMask }).loss as tf.Scalar,
);
console.log('DAPO loss', value.dataSync()[0], 'gradient', grads[logits.name]!.arraySync());
const { metrics } = clippedSurrogateLoss({
  logProbs: logits,
  oldLogProbs,
  advantages,
  lossMask,
  ratioLevel: 'sequence',
  clipLow: 3e-4,
  clipHigh: 4e-4,
});
console.log('GSPO metrics', metrics);
