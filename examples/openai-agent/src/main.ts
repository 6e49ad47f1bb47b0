/**
 * Trains an OpenAI-client agent through the rollout gateway: the agent
 * (order-agent.ts, unchanged but for its `baseURL`) answers order-desk
 * customers with its own loop and the `track_order` tool; the gateway serves
 * the policy being trained and records every call; GRPO trains on the groups
 * of episodes; held-out success is measured through the same agent before
 * and after.
 *
 * Run: pnpm --filter @cohort/example-openai-agent start
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createGatewayRolloutSource,
  createRolloutGateway,
  type GatewayEvaluation,
} from '@cohort/gateway';
import { initializeBackend } from '@cohort/tfjs';
import { loadGptPolicy } from '@cohort/tfjs/node';
import { GrpoTrainer } from '@cohort/trainer';
import { runAgentWorker } from './agent-worker';
import { type OrderScenario, orderScenarios } from './order-desk';
import { statedProbability } from './stated-probability';

/** Wilson score interval of a success rate (Wilson 1927), 95% by default. */
export function wilsonInterval(successes: number, trials: number, z = 1.959964): [number, number] {
  if (trials === 0) return [0, 1];
  const rate = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (rate + (z * z) / (2 * trials)) / denominator;
  const half =
    (z * Math.sqrt((rate * (1 - rate)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return [centre - half, centre + half];
}

/** A held-out measurement: sampled success through the agent, with its 95% Wilson interval. */
export type HeldOutSuccess = GatewayEvaluation & { interval: [number, number] };

/** What the held-out customers showed at one point of the run. */
export interface HeldOutMeasurement {
  /** The agent's episodes at its temperature (1). */
  sampled: HeldOutSuccess;
  /** One episode per customer at temperature 0, when `greedy` was asked for. */
  greedy: GatewayEvaluation | null;
  /** {@link statedProbability} on the held-out customers (no sampling). */
  statedProbability: number;
}

/** What the run measured. */
export interface OpenAiAgentResult {
  before: HeldOutMeasurement;
  after: HeldOutMeasurement;
  trainSuccessPerStep: number[];
  /** The policy version after training: one per applied update. */
  policyVersion: number;
  staleEpisodes: number;
  timedOutEpisodes: number;
  agentEpisodes: number;
  seconds: number;
}

export async function main(
  options: {
    /** The warm-started model (Hugging Face layout; default the example's `model/`). */
    modelDirectory?: string;
    steps?: number;
    seed?: number;
    /** GRPO learning rate (default 1e-3). */
    learningRate?: number;
    /** Training customers per step (default 4), each run `groupSize` times by the agent. */
    scenariosPerStep?: number;
    /** Episodes per training customer and step (default 4). */
    groupSize?: number;
    /**
     * Adam's epsilon (default 1e-8). A larger one keeps Adam from scaling the
     * tiny gradients of tokens the policy never samples up to full-size steps.
     */
    adamEpsilon?: number;
    /** KL to the warm start in the loss, k3 estimator (default 0: no reference model). */
    klCoefficient?: number;
    /** Passes over each step's episodes (default 1), in minibatches of `minibatchSize` (default all of them). */
    epochs?: number;
    minibatchSize?: number;
    /** Held-out episodes per held-out customer, before and after (default 4: 32 episodes). */
    heldOutEpisodesPerScenario?: number;
    /** Also run each held-out customer once at temperature 0, before and after (default true). */
    greedy?: boolean;
    log?: (line: string) => void;
  } = {},
): Promise<OpenAiAgentResult> {
  const {
    modelDirectory = fileURLToPath(new URL('../model', import.meta.url)),
    steps = 12,
    seed = 1,
    learningRate = 1e-3,
    scenariosPerStep = 4,
    groupSize = 4,
    adamEpsilon = 1e-8,
    klCoefficient = 0,
    epochs = 1,
    minibatchSize = scenariosPerStep * groupSize,
    heldOutEpisodesPerScenario = 4,
    greedy = true,
    log = console.log,
  } = options;
  const started = performance.now();
  await initializeBackend({ logger: false });
  const { policy, referenceModel } = await loadGptPolicy(modelDirectory);
  const contextLength = policy.model.config.contextLength;
  const gateway = await createRolloutGateway({
    policy,
    contextLength,
    modelName: 'order-desk',
    toolPromptStyle: 'compact',
  });
  const source = createGatewayRolloutSource<OrderScenario>({ gateway, groupTimeoutMs: 300_000 });
  // The agent program: here in the same process, talking to the gateway over HTTP only.
  const agent = runAgentWorker({ gatewayUrl: gateway.url, model: 'order-desk' });
  try {
    const trainer = new GrpoTrainer<OrderScenario>({
      policy,
      trainScenarios: orderScenarios('train'),
      rewards: [],
      rolloutSource: source,
      ...(klCoefficient > 0 ? { referenceModel } : {}),
      config: {
        seed,
        steps,
        scenariosPerStep,
        groupSize,
        epochs,
        minibatchSize,
        optimizer: { type: 'adamw', learningRate, epsilon: adamEpsilon, maxGradNorm: 1 },
        generation: { maxNewTokens: 32, temperature: 1 },
        maxSequenceLength: contextLength,
        kl: { controller: { type: 'fixed', coefficient: klCoefficient } },
      },
    });
    const heldOut = {
      scenarios: orderScenarios('eval'),
      temperature: 1,
      maxTokens: 32,
      episodesPerScenario: heldOutEpisodesPerScenario,
      seed,
    };
    const measure = async (label: string): Promise<HeldOutMeasurement> => {
      const sampled = await source.evaluate({ ...heldOut, label });
      const measured: HeldOutMeasurement = {
        sampled: { ...sampled, interval: wilsonInterval(sampled.successes, sampled.episodes) },
        greedy: greedy
          ? await source.evaluate({
              ...heldOut,
              temperature: 0,
              episodesPerScenario: 1,
              label: `${label}-greedy`,
            })
          : null,
        statedProbability: (await statedProbability(policy, heldOut.scenarios)).mean,
      };
      log(
        `held-out ${label}: success ${sampled.successes}/${sampled.episodes}${measured.greedy ? `, greedy ${measured.greedy.successes}/${measured.greedy.episodes}` : ''}, P(stated) ${measured.statedProbability.toFixed(3)}`,
      );
      return measured;
    };
    const before = await measure('before');
    const trainSuccessPerStep: number[] = [];
    let staleEpisodes = 0;
    let timedOutEpisodes = 0;
    for (let step = 0; step < steps; step++) {
      const metrics = await trainer.step();
      trainSuccessPerStep.push(metrics.successRate);
      staleEpisodes += metrics.staleEpisodes;
      timedOutEpisodes += metrics.timedOutEpisodes;
      log(
        `step ${metrics.step}: train success ${metrics.successRate.toFixed(2)}, zero-spread groups ${metrics.zeroSpreadGroupFraction.toFixed(2)}, truncated ${metrics.truncatedFraction.toFixed(2)}, completion ${metrics.completionLengthMean.toFixed(1)} tokens`,
      );
    }
    const after = await measure('after');
    gateway.finishTasks();
    const agentEpisodes = await agent;
    return {
      before,
      after,
      trainSuccessPerStep,
      policyVersion: policy.version,
      staleEpisodes,
      timedOutEpisodes,
      agentEpisodes,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    gateway.finishTasks();
    await gateway.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await main();
  const percent = (value: number) => `${(100 * value).toFixed(0)}%`;
  const sampled = (measured: HeldOutMeasurement) =>
    `${percent(measured.sampled.successRate)} [${measured.sampled.interval.map(percent).join(', ')}]`;
  console.log(
    `held-out success ${sampled(result.before)} -> ${sampled(result.after)} in ${result.seconds.toFixed(0)} s`,
  );
}
