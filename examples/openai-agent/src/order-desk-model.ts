/**
 * The tiny model the example trains: a byte-level BPE tokenizer and a small
 * GPT-2-style model, warm-started by supervised fine-tuning on order-desk
 * dialogues in which the agent calls `track_order` in the Hermes format. The
 * shipped schedule ({@link defaultWarmStart}) first trains on dialogues that
 * always call the stated number until the model reads it (copying appears
 * abruptly after 120-300 steps), then dilutes that with dialogues whose
 * number is drawn at random, so the agent is right well under its ceiling:
 * a plausible but imperfect agent that knows how to read the number and
 * does so only some of the time, which reinforcement learning through the
 * gateway then raises. `pnpm --filter @cohort/example-openai-agent make-model`
 * writes it to `model/` (minutes, not test time), where the example and its
 * test load it.
 */
import { assistantLossMask } from '@cohort/agent-trainer';
import { InvalidArgumentError, type Message, Random } from '@cohort/core';
import { formatToolCalls } from '@cohort/environments';
import {
  type BpeTokenizer,
  createGptModel,
  createOptimizer,
  type GptModel,
  GptPolicy,
  type Optimizer,
  tokenLogProbs,
  trainBpeTokenizer,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import {
  customerMessage,
  type OrderScenario,
  orderIds,
  orderScenarios,
  renderedSystemMessage,
  trackOrder,
} from './order-desk';
import { statedProbability } from './stated-probability';

/** A warm-start dialogue: the call's order number is `calledId`, whatever the customer said. */
function dialogue(scenario: OrderScenario, calledId: string): Message[] {
  return [
    { role: 'system', content: renderedSystemMessage() },
    { role: 'user', content: customerMessage(scenario) },
    {
      role: 'assistant',
      content: formatToolCalls(
        [{ name: 'track_order', arguments: { order_id: calledId } }],
        'hermes',
      ),
    },
    { role: 'tool', content: trackOrder(scenario, calledId) },
    { role: 'assistant', content: 'Thank you for waiting.' },
  ];
}

/**
 * One phase of the warm start: `steps` steps of AdamW at `learningRate`
 * (default 3e-3; each phase starts a fresh optimizer) on dialogues whose call
 * uses the stated number with probability `statedFraction`.
 */
export interface WarmStartPhase {
  steps: number;
  statedFraction: number;
  learningRate?: number;
}

/**
 * The shipped warm start: 300 clean steps, in which the model learns to read
 * the number (copying appears abruptly between 120 and 300 clean steps), then
 * diluted steps in which the stated number is called a fifth of the time.
 */
export const defaultWarmStart: readonly WarmStartPhase[] = [
  { steps: 300, statedFraction: 1 },
  { steps: 60, statedFraction: 0.2, learningRate: 3e-4 },
];

/** Options of {@link makeOrderDeskModel}. */
export interface OrderDeskModelOptions {
  seed: number;
  /** Supervised phases, run in order (default {@link defaultWarmStart}). */
  phases?: readonly WarmStartPhase[];
  /** Dialogues per step (default 8). */
  batchSize?: number;
  /** Measure {@link statedProbability} on the held-out customers every this many steps and at the end (default: only at the end). */
  probeEvery?: number;
  /** Called with each probe as it is measured, and the policy at that step (progress of a long warm start). */
  onProbe?: (probe: WarmStartProbe, policy: GptPolicy) => void | Promise<void>;
  /**
   * Continue from a saved model of the same seed and schedule after its first
   * `phasesDone` phases: their dialogues are drawn again (not trained on), so
   * the remaining phases see exactly the dialogues of an uninterrupted run.
   */
  resume?: { policy: GptPolicy; phasesDone: number };
}

/** One measurement of {@link statedProbability} during the warm start. */
export interface WarmStartProbe {
  step: number;
  /** Mean P(stated) over the held-out customers. */
  heldOut: number;
  /** Fraction of held-out customers whose most likely call is the stated number. */
  heldOutArgmax: number;
}

function positiveInteger(argument: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new InvalidArgumentError({ argument, value, message: 'must be a positive integer' });
  }
}

function checkOptions(options: OrderDeskModelOptions): void {
  const phases = options.phases ?? defaultWarmStart;
  if (phases.length === 0) {
    throw new InvalidArgumentError({
      argument: 'phases',
      value: phases,
      message: 'must hold at least one phase',
    });
  }
  phases.forEach((phase, index) => {
    positiveInteger(`phases[${index}].steps`, phase.steps);
    if (!(phase.statedFraction >= 0 && phase.statedFraction <= 1)) {
      throw new InvalidArgumentError({
        argument: `phases[${index}].statedFraction`,
        value: phase.statedFraction,
        message: 'must be in [0, 1]',
      });
    }
    if (
      phase.learningRate !== undefined &&
      !(phase.learningRate > 0 && Number.isFinite(phase.learningRate))
    ) {
      throw new InvalidArgumentError({
        argument: `phases[${index}].learningRate`,
        value: phase.learningRate,
        message: 'must be a finite positive number',
      });
    }
  });
  positiveInteger('batchSize', options.batchSize);
  positiveInteger('probeEvery', options.probeEvery);
  const done = options.resume?.phasesDone;
  if (done !== undefined && !(Number.isInteger(done) && done >= 0 && done < phases.length)) {
    throw new InvalidArgumentError({
      argument: 'resume.phasesDone',
      value: done,
      message: `must be an integer in [0, ${phases.length - 1}]: a phase must be left to run`,
    });
  }
}

function makeModel(tokenizer: BpeTokenizer, longest: number, seed: number): GptModel {
  return createGptModel({
    config: {
      vocabSize: tokenizer.vocabSize,
      // Room for the two calls of an episode and their completions.
      contextLength: 64 * Math.ceil((longest + 48) / 64),
      embeddingSize: 64,
      layerCount: 2,
      headCount: 4,
      bosTokenId: tokenizer.eosTokenId,
      eosTokenId: tokenizer.eosTokenId,
    },
    seed,
  });
}

/**
 * Makes the tokenizer and the warm-started policy. Supervised loss
 * `L = -sum_t m_t log p(x_t | x_<t) / sum_t m_t` over the assistant's tokens
 * (Ouyang et al. 2022, the SFT stage).
 *
 * @example
 * ```ts
 * const { policy } = await makeOrderDeskModel({ seed: 1 });
 * ```
 */
export async function makeOrderDeskModel(options: OrderDeskModelOptions) {
  checkOptions(options);
  const random = new Random(options.seed).fork('order-desk-model');
  const scenarios = orderScenarios('train');
  const draw = (statedFraction: number) => {
    const scenario = random.choice(scenarios);
    const stated = random.float() < statedFraction;
    return dialogue(scenario, stated ? scenario.orderId : random.choice(orderIds));
  };
  // The tokenizer's corpus holds calls of the stated number and of others alike.
  const dialogues = Array.from({ length: 256 }, () => draw(0.5));
  const tokenizer =
    (options.resume?.policy.tokenizer as BpeTokenizer | undefined) ??
    trainBpeTokenizer({
      texts: dialogues.flatMap((messages) => messages.map((message) => message.content)),
      vocabSize: 600,
    });
  const longest = Math.max(
    ...dialogues.map((messages) => tokenizer.applyChatTemplate(messages).length),
  );
  const policy =
    options.resume?.policy ??
    new GptPolicy({ model: makeModel(tokenizer, longest, options.seed), tokenizer });
  const model = policy.model;
  const phases = options.phases ?? defaultWarmStart;
  const batchSize = options.batchSize ?? 8;
  const losses: number[] = [];
  const probes: WarmStartProbe[] = [];
  const probe = async (step: number) => {
    const heldOut = await statedProbability(policy, orderScenarios('eval'));
    const measured = { step, heldOut: heldOut.mean, heldOutArgmax: heldOut.argmaxStated };
    probes.push(measured);
    await options.onProbe?.(measured, policy);
  };
  let step = 0;
  for (const [index, phase] of phases.entries()) {
    if (index < (options.resume?.phasesDone ?? 0)) {
      for (let skipped = 0; skipped < phase.steps * batchSize; skipped++)
        draw(phase.statedFraction);
      step += phase.steps;
      continue;
    }
    const optimizer = createOptimizer({
      type: 'adamw',
      learningRate: phase.learningRate ?? 3e-3,
      weightDecay: 0.01,
      maxGradNorm: 1,
      variables: model.namedVariables(),
    });
    for (let phaseStep = 0; phaseStep < phase.steps; phaseStep++, step++) {
      if (options.probeEvery !== undefined && step > 0 && step % options.probeEvery === 0) {
        await probe(step);
      }
      // Fresh dialogues every step, so the model cannot memorize which number a customer got.
      const batch = Array.from({ length: batchSize }, () =>
        assistantLossMask(draw(phase.statedFraction), tokenizer),
      );
      losses.push(await supervisedStep(model, optimizer, batch, tokenizer.padTokenId));
    }
  }
  await probe(step);
  return { policy, tokenizer, losses, probes, contextLength: model.config.contextLength };
}

/** One AdamW step on the masked supervised loss of `batch`; returns the loss before the step. */
async function supervisedStep(
  model: GptModel,
  optimizer: Optimizer,
  batch: readonly { tokenIds: number[]; lossMask: number[] }[],
  padTokenId: number,
): Promise<number> {
  const width = Math.max(...batch.map((example) => example.tokenIds.length));
  const mask = tf.tensor2d(
    batch.map((example) => [
      ...example.lossMask,
      ...new Array<number>(width - example.lossMask.length).fill(0),
    ]),
  );
  const { value, grads } = tf.variableGrads(() => {
    const output = tokenLogProbs(model, {
      sequences: batch.map((example) => example.tokenIds),
      padTokenId,
    });
    const loss = output.logProbs.mul(mask).sum().neg().div(mask.sum()) as tf.Scalar;
    output.mask.dispose();
    return loss;
  });
  const loss = (await value.data())[0]!;
  value.dispose();
  mask.dispose();
  optimizer.applyGradients(grads);
  for (const gradient of Object.values(grads)) gradient.dispose();
  return loss;
}
