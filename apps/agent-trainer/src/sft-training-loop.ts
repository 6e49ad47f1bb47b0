import { Random } from '@cohort/core';
import { type CausalLanguageModel, createOptimizer, tokenLogProbs } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** Options of {@link trainOnAssistantTokens}. */
export interface AssistantTokenTrainingOptions {
  model: CausalLanguageModel & { namedVariables(): Record<string, tf.Variable> };
  /** Token ids of each dialogue and its loss mask (1 on the agent's tokens). */
  examples: readonly { tokenIds: readonly number[]; lossMask: readonly number[] }[];
  padTokenId: number;
  steps: number;
  /** Sequences per optimizer step. */
  batchSize: number;
  /** Seeds the order of the examples (`fork('sft-batches')`). */
  seed: number;
  /** Peak learning rate of the cosine schedule; it ends at a tenth of it. */
  learningRate: number;
  /** `performance.now()` when the whole job started, for the seconds of `onStep`. */
  started: number;
  onStep?: (progress: { step: number; steps: number; loss: number; seconds: number }) => void;
}

/**
 * The supervised loop of `sft`: AdamW (weight decay 0.01, gradient norm
 * clipped at 1, cosine schedule with warm-up) on next-token cross-entropy over
 * the agent's tokens only,
 * `L = -sum_t m_t log p(x_t | x_<t) / sum_t m_t` (Ouyang et al. 2022, the SFT
 * stage), over shuffled passes of the examples. Returns the first step's loss
 * and the exponentially smoothed loss every 10 steps.
 *
 * @example
 * ```ts
 * const { initialLoss, lossHistory } = await trainOnAssistantTokens({ model, examples, padTokenId: 0, steps: 100, batchSize: 8, seed: 0, learningRate: 3e-3, started: performance.now() });
 * ```
 */
export async function trainOnAssistantTokens(
  options: AssistantTokenTrainingOptions,
): Promise<{ initialLoss: number; lossHistory: { step: number; loss: number }[] }> {
  const { model, examples, steps, batchSize } = options;
  const optimizer = createOptimizer({
    type: 'adamw',
    learningRate: options.learningRate,
    weightDecay: 0.01,
    maxGradNorm: 1,
    schedule: {
      type: 'cosine',
      warmupSteps: Math.min(20, Math.floor(steps / 10)),
      totalSteps: steps,
      minLearningRate: options.learningRate / 10,
    },
    variables: model.namedVariables(),
  });
  const random = new Random(options.seed).fork('sft-batches');
  let order: number[] = [];
  const lossHistory: { step: number; loss: number }[] = [];
  let initialLoss = Number.NaN;
  let smoothed = Number.NaN;
  for (let step = 1; step <= steps; step++) {
    const rows: number[] = [];
    while (rows.length < batchSize) {
      if (order.length === 0) order = random.shuffle(examples.map((_, index) => index));
      rows.push(order.pop()!);
    }
    const batch = rows.map((row) => examples[row]!);
    const maxLength = Math.max(...batch.map((example) => example.tokenIds.length));
    const maskRows = batch.map((example) => [
      ...example.lossMask,
      ...new Array<number>(maxLength - example.lossMask.length).fill(0),
    ]);
    const { value, grads } = tf.variableGrads(() => {
      const output = tokenLogProbs(model, {
        sequences: batch.map((example) => [...example.tokenIds]),
        padTokenId: options.padTokenId,
      });
      const mask = tf.tensor2d(maskRows);
      const loss = output.logProbs.mul(mask).sum().neg().div(mask.sum()) as tf.Scalar;
      output.mask.dispose();
      return loss;
    });
    const loss = (await value.data())[0]!;
    value.dispose();
    optimizer.applyGradients(grads);
    for (const gradient of Object.values(grads)) gradient.dispose();
    if (step === 1) initialLoss = loss;
    smoothed = Number.isNaN(smoothed) ? loss : 0.9 * smoothed + 0.1 * loss;
    if (step % 10 === 0 || step === steps)
      lossHistory.push({ step, loss: Number(smoothed.toFixed(4)) });
    options.onStep?.({
      step,
      steps,
      loss: smoothed,
      seconds: (performance.now() - options.started) / 1000,
    });
  }
  return { initialLoss, lossHistory };
}
