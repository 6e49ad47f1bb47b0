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

/** What the run measured. */
export interface OpenAiAgentResult {
  before: GatewayEvaluation & { interval: [number, number] };
  after: GatewayEvaluation & { interval: [number, number] };
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
    steps?: number;
    seed?: number;
    /** Held-out episodes per held-out customer, before and after (default 8: 64 episodes). */
    heldOutEpisodesPerScenario?: number;
    log?: (line: string) => void;
  } = {},
): Promise<OpenAiAgentResult> {
  const { steps = 16, seed = 1, heldOutEpisodesPerScenario = 8, log = console.log } = options;
  const started = performance.now();
  await initializeBackend({ logger: false });
  const { policy } = await loadGptPolicy(fileURLToPath(new URL('../model', import.meta.url)));
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
      config: {
        seed,
        steps,
        scenariosPerStep: 4,
        groupSize: 4,
        minibatchSize: 16,
        optimizer: { type: 'adamw', learningRate: 3e-4, maxGradNorm: 1 },
        generation: { maxNewTokens: 32, temperature: 1 },
        maxSequenceLength: contextLength,
        kl: { controller: { type: 'fixed', coefficient: 0 } },
      },
    });
    const heldOut = {
      scenarios: orderScenarios('eval'),
      temperature: 1,
      maxTokens: 32,
      episodesPerScenario: heldOutEpisodesPerScenario,
      seed,
    };
    const evaluate = async (label: string) => {
      const evaluation = await source.evaluate({ ...heldOut, label });
      return { ...evaluation, interval: wilsonInterval(evaluation.successes, evaluation.episodes) };
    };
    const before = await evaluate('before');
    log(`held-out success before: ${before.successes}/${before.episodes}`);
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
    const after = await evaluate('after');
    log(`held-out success after: ${after.successes}/${after.episodes}`);
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
  console.log(
    `held-out success ${percent(result.before.successRate)} [${result.before.interval.map(percent).join(', ')}] -> ${percent(result.after.successRate)} [${result.after.interval.map(percent).join(', ')}] in ${result.seconds.toFixed(0)} s`,
  );
}
