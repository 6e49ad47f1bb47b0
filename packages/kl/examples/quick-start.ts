import { AdaptiveKlController, exactKl, klLoss, klPenalizedRewards, klPerToken } from '@cohort/kl';
import * as tf from '@tensorflow/tfjs';

const logProbs = [[-1.0, -0.5, -2.0]];
const refLogProbs = [[-1.2, -0.5, -1.0]];
console.log('k3 per token', klPerToken({ logProbs, refLogProbs, estimator: 'k3' }));
console.log('exact KL', exactKl({ logits: [2, 0, -1], refLogits: [1, 1, 0] }));
const kl = klLoss({
  logProbs: tf.tensor2d(logProbs),
  refLogProbs: tf.tensor2d(refLogProbs),
  lossMask: tf.tensor2d([[1, 1, 0]]),
});
console.log('masked token-mean k3', kl.dataSync()[0]);
const k1 = klPerToken({ logProbs, refLogProbs, estimator: 'k1' });
console.log(
  'rewards',
  klPenalizedRewards({
    rewardsPerSequence: [1],
    klPerToken: k1,
    coefficient: 0.1,
    lossMask: [[1, 1, 0]],
  }),
);
const controller = new AdaptiveKlController({ initialCoefficient: 0.1, target: 6, horizon: 10000 });
console.log('beta after a high-KL batch', controller.update(12, 512));
