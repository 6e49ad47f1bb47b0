import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Trajectory } from '@cohort/core';
import type { PopulationGenerationRecord } from '@cohort/trainer';
import { type TrajectoryLine, trajectoryLine } from '../src/trajectory-record';

/** A step record shaped like the trainer's, with nested timings and rewards by function. */
export function stepRecord(step: number): Record<string, unknown> {
  return {
    kind: 'step',
    step,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, step)).toISOString(),
    episodes: step * 8,
    rewardMean: 0.3 + 0.01 * step + 0.02 * Math.sin(step),
    rewardMeanByFunction: { goal: 0.2 + 0.01 * step, format: 0.9 },
    klToReference: 0.001 * step,
    entropy: 2 - 0.01 * step,
    // Written as the metrics log writes a NaN: a gap, not a broken chart.
    loss: step === 3 ? 'NaN' : -0.1 * step,
    timings: { rollout: 3, update: 1.5 },
  };
}

/** Token ids of the fixture's words: a tiny vocabulary, decoded by {@link decodeToken}. */
export const vocabulary = [
  '<s>',
  'Hello',
  ' there',
  '!',
  ' I',
  ' issued',
  ' a',
  ' refund',
  '<script>',
  ' &amp;',
];
export const decodeToken = (id: number) => vocabulary[id] ?? `<${id}>`;

/** A rollout record with a system, user and agent turn; the agent's tokens have distinct log-probs. */
export function fixtureTrajectory(index: number, step: number): Trajectory {
  const agent = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const tokenIds = [0, 0, 0, ...agent];
  return {
    id: `trajectory-${step}-${index}`,
    scenarioId: index % 2 === 0 ? 'refunds-1' : 'shipping-2',
    seed: index,
    policyVersion: step - 1,
    messages: [
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Where is my <b>refund</b>?' },
      { role: 'assistant', content: agent.map(decodeToken).join('') },
    ],
    turns: [
      { role: 'system', content: 'Be kind.', tokenStart: 0, tokenEnd: 1, reward: null },
      {
        role: 'user',
        content: 'Where is my <b>refund</b>?',
        tokenStart: 1,
        tokenEnd: 3,
        reward: null,
      },
      {
        role: 'assistant',
        content: agent.map(decodeToken).join(''),
        tokenStart: 3,
        tokenEnd: 12,
        reward: 0.5 + index,
        finishReason: 'eos',
      },
    ],
    tokenIds,
    lossMask: tokenIds.map((_, position) => (position >= 3 ? 1 : 0)),
    behaviorLogProbs: tokenIds.map((_, position) =>
      position >= 3 ? -0.1 * (position - 2) - index : 0,
    ),
    rewardsPerTurn: [0.5 + index],
    rewardsByFunction: { goal: 0.5 + index, format: null },
    totalReward: 0.5 + index,
    endReason: 'success',
    truncated: false,
    temperature: 1,
  };
}

/** Creates a run directory with a config, `steps` step records, evaluations, samples and trajectories. */
export async function writeFixtureRun(options: {
  root?: string;
  name: string;
  steps: number;
}): Promise<{ directory: string; trajectories: TrajectoryLine[] }> {
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), 'cohort-console-')));
  const directory = path.join(root, options.name);
  await mkdir(directory, { recursive: true });
  for (const checkpoint of ['step-000002', 'step-000004', 'step-000010']) {
    await mkdir(path.join(directory, 'checkpoints', checkpoint), { recursive: true });
  }
  await writeFile(path.join(directory, 'checkpoints', 'notes.txt'), 'not a checkpoint');
  await writeFile(
    path.join(directory, 'config.resolved.json'),
    JSON.stringify({ name: options.name, trainer: { steps: options.steps } }),
  );
  const lines: string[] = [];
  for (let step = 1; step <= options.steps; step++) {
    lines.push(JSON.stringify(stepRecord(step)));
    if (step % 5 === 0) {
      lines.push(
        JSON.stringify({
          kind: 'evaluation',
          step,
          time: '2025-01-01T00:00:00.000Z',
          episodes: 12,
          rewardMean: 0.4,
          successRate: 0.5,
          rewardMeanByFunction: { goal: 0.4 },
          successRateByCategory: { refunds: 0.75, shipping: 0.25 },
        }),
      );
      lines.push(
        JSON.stringify({
          kind: 'generation',
          step,
          time: '2025-01-01T00:00:00.000Z',
          generation: step / 5,
          bestFitness: 0.6,
          meanFitness: 0.5,
          worstFitness: 0.4,
          diversity: 0.3,
          adopted: null,
          systemPrompt: 'You are <i>helpful</i>.',
        }),
      );
    }
  }
  await writeFile(path.join(directory, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  await writeFile(
    path.join(directory, 'samples.jsonl'),
    `${[
      {
        step: options.steps,
        scenarioId: 'refunds-1',
        reward: 1,
        endReason: 'success',
        messages: [
          { role: 'user', content: 'My order <b>#42</b> & "the box" arrived broken.' },
          { role: 'assistant', content: 'Refund issued <script>alert(1)</script>.' },
        ],
      },
      {
        step: options.steps,
        scenarioId: 'shipping-2',
        reward: 0,
        endReason: 'turn-limit',
        messages: [
          { role: 'user', content: 'Where is my parcel?' },
          {
            role: 'assistant',
            content: 'sorry the parcel sorry the parcel sorry the parcel sorry the parcel',
          },
        ],
      },
    ]
      .map((sample) => JSON.stringify(sample))
      .join('\n')}\n`,
  );
  const trajectories = [1, 2].flatMap((step) =>
    [0, 1].map((index) =>
      trajectoryLine({
        step,
        groupId: `group-${step}`,
        trajectory: fixtureTrajectory(index, step),
        decodeToken,
      }),
    ),
  );
  await writeFile(
    path.join(directory, 'trajectories.jsonl'),
    `${trajectories.map((line) => JSON.stringify(line)).join('\n')}\n`,
  );
  return { directory, trajectories };
}

/**
 * A `population` line as `TrainingRun` writes it: a generation's record of
 * three members (fitness intervals, hyperparameters, prompts; member 1 and
 * later 2 fittest), what PBT copied, the deployed member and the lineage.
 */
export function populationRecord(generation: number, step: number): Record<string, unknown> {
  const record: PopulationGenerationRecord = {
    generation,
    episode: step * 8,
    fitnessEpisodes: 12,
    members: [0, 1, 2].map((index) => {
      const mean = 0.2 + 0.1 * index + (index === 2 ? 0.15 * generation : 0.02 * generation);
      return {
        index,
        id: `m${index}-g${generation}`,
        fitness: {
          mean,
          lower: mean - 0.05,
          upper: mean + 0.05,
          count: 4,
          confidence: 0.95,
          method: 'normal',
        },
        hyperparameters: { learningRate: 0.001 * (index + 1), klCoefficient: 0.05 },
        systemPrompt: index === 1 ? 'Be <b>brief</b>.' : 'Be kind.',
        gradientTrained: index === 0,
      };
    }),
    exploits:
      generation > 1
        ? [
            {
              targetIndex: 0,
              targetId: `m0-g${generation - 1}`,
              sourceId: `m2-g${generation - 1}`,
              targetFitness: 0.22,
              sourceFitness: 0.5,
              hyperparameters: { learningRate: 0.0036, klCoefficient: 0.04 },
            },
          ]
        : [],
    injected: null,
    adopted: null,
    mutated: [],
  };
  return {
    kind: 'population',
    step,
    time: '2025-01-01T00:00:00.000Z',
    ...record,
    best: 2,
    lineage: [
      { generation: 0, origin: 'initial' },
      { generation: 0, origin: 'initial' },
      generation > 1
        ? { generation: generation - 1, origin: 'copy', fromId: `m1-g${generation - 1}` }
        : { generation: 0, origin: 'initial' },
    ],
  };
}

/** A population run: step records and a generation every 2 steps. */
export async function writePopulationRun(root: string, steps: number): Promise<string> {
  const directory = path.join(root, 'population');
  await mkdir(directory, { recursive: true });
  const lines: string[] = [];
  for (let step = 1; step <= steps; step++) {
    lines.push(JSON.stringify(stepRecord(step)));
    if (step % 2 === 0) lines.push(JSON.stringify(populationRecord(step / 2, step)));
  }
  await writeFile(path.join(directory, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  await writeFile(
    path.join(directory, 'config.resolved.json'),
    JSON.stringify({ name: 'population', trainer: { steps } }),
  );
  return directory;
}
