import { InvalidArgumentError, Random } from '@cohort/core';
import { type CausalLanguageModel, createOptimizer, LlamaModel, tokenLogProbs } from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';

/** The engines that compute the gradients of {@link trainOnAssistantTokens}; the optimizer is tfjs's AdamW either way. */
export const sftEngines = ['tfjs', 'onnx'] as const;
export type SftEngine = (typeof sftEngines)[number];

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
  /**
   * Batches of similar length (Hugging Face's `group_by_length`): each pass
   * is shuffled, cut into windows of 16 batches, each window sorted by length
   * and cut into batches, and the batches shuffled, so padding is small and
   * the order stays random. Default false.
   */
  groupByLength?: boolean;
  /** Runs after every `every` steps and after the last (a held-out probe); the loop waits for it. */
  probe?: { every: number; run: (step: number) => Promise<void> };
  /**
   * Who computes the loss and gradients: `'tfjs'` (default) autodiff, or
   * `'onnx'`, the hand-written backward graph on ONNX Runtime
   * (`createOnnxLlamaLearner`; Llama-family models only, LoRA or not). Both
   * feed the same tfjs AdamW.
   */
  engine?: SftEngine;
  /** ONNX Runtime threads per operator with `engine: 'onnx'`. Default 1. */
  onnxThreads?: number;
}

/** One step's loss and gradients (keyed by `namedVariables()` names or variable names); the caller disposes the gradients. */
type StepGradients = (
  sequences: number[][],
  maskRows: number[][],
) => Promise<{ loss: number; grads: tf.NamedTensorMap }>;

function tfjsStepGradients(options: AssistantTokenTrainingOptions): StepGradients {
  return async (sequences, maskRows) => {
    const { value, grads } = tf.variableGrads(() => {
      const output = tokenLogProbs(options.model, { sequences, padTokenId: options.padTokenId });
      const mask = tf.tensor2d(maskRows);
      const loss = output.logProbs.mul(mask).sum().neg().div(mask.sum()) as tf.Scalar;
      output.mask.dispose();
      return loss;
    });
    const loss = (await value.data())[0]!;
    value.dispose();
    return { loss, grads };
  };
}

/** The same loss on ONNX Runtime: `d_logp = -mask / sum(mask)`, the loss summed in float64 from the returned log-probs. */
async function onnxStepGradients(
  options: AssistantTokenTrainingOptions,
): Promise<{ step: StepGradients; release: () => Promise<void> }> {
  const { model } = options;
  if (!(model instanceof LlamaModel)) {
    throw new InvalidArgumentError({
      argument: 'engine',
      value: 'onnx',
      message: 'needs a Llama-family model (LlamaModel)',
    });
  }
  // Loaded only for this engine: ONNX Runtime's native module is not needed by tfjs runs.
  const { createOnnxLlamaLearner } = await import('@cohort/transformers/onnx');
  const learner = await createOnnxLlamaLearner({
    config: model.config,
    padTokenId: options.padTokenId,
    ...(model.lora !== undefined ? { lora: model.lora } : {}),
    ...(options.onnxThreads !== undefined ? { intraOpNumThreads: options.onnxThreads } : {}),
  });
  // A LoRA model's base is frozen: read once; each step reads only the adapters.
  if (model.lora !== undefined) learner.setFrozenWeights(model.baseVariables());
  const step: StepGradients = async (sequences, maskRows) => {
    const count = maskRows.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
    const dLogp = maskRows.map((row) => row.map((value) => -value / count));
    const { logProbs, shape, gradients } = await learner.gradients(
      model.namedVariables(),
      { sequences },
      dLogp,
    );
    let total = 0;
    maskRows.forEach((row, b) => {
      row.forEach((value, t) => {
        total += value * (logProbs[b * shape[1] + t] as number);
      });
    });
    return { loss: -total / count, grads: gradients };
  };
  return { step, release: () => learner.release() };
}

/**
 * The rows of one pass over `lengths.length` examples, in batches of
 * similar length (see {@link AssistantTokenTrainingOptions.groupByLength}).
 */
export function lengthGroupedOrder(
  lengths: readonly number[],
  batchSize: number,
  random: Random,
): number[] {
  const shuffled = random.shuffle(lengths.map((_, index) => index));
  const window = batchSize * 16;
  const batches: number[][] = [];
  for (let start = 0; start < shuffled.length; start += window) {
    const sorted = shuffled
      .slice(start, start + window)
      .sort((a, b) => (lengths[b] as number) - (lengths[a] as number));
    for (let offset = 0; offset < sorted.length; offset += batchSize)
      batches.push(sorted.slice(offset, offset + batchSize));
  }
  return random.shuffle(batches).flat();
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
  const lengths = examples.map((example) => example.tokenIds.length);
  const onnx = options.engine === 'onnx' ? await onnxStepGradients(options) : undefined;
  const stepGradients = onnx?.step ?? tfjsStepGradients(options);
  try {
    for (let step = 1; step <= steps; step++) {
      const rows: number[] = [];
      while (rows.length < batchSize) {
        if (order.length === 0)
          order = options.groupByLength
            ? lengthGroupedOrder(lengths, batchSize, random).reverse()
            : random.shuffle(examples.map((_, index) => index));
        rows.push(order.pop()!);
      }
      const batch = rows.map((row) => examples[row]!);
      const maxLength = Math.max(...batch.map((example) => example.tokenIds.length));
      const maskRows = batch.map((example) => [
        ...example.lossMask,
        ...new Array<number>(maxLength - example.lossMask.length).fill(0),
      ]);
      const { loss, grads } = await stepGradients(
        batch.map((example) => [...example.tokenIds]),
        maskRows,
      );
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
      if (options.probe && (step % options.probe.every === 0 || step === steps))
        await options.probe.run(step);
    }
  } finally {
    await onnx?.release();
  }
  return { initialLoss, lossHistory };
}
