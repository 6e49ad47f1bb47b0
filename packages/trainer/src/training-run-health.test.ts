import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment, replyDiversity } from '@cohort/environments';
import { createOptimizer, initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer } from './grpo-trainer';
import { parseMetricsLog } from './metrics-log';
import { TrainingRun, type TrainingRunEvent } from './training-run';

const tokenizer = new MockTokenizer();
const digitIds = [...'0123'].map((digit) => tokenizer.encode(digit)[0]!);
let root: string;

beforeAll(async () => {
  await initializeBackend({ logger: false });
  root = await mkdtemp(path.join(tmpdir(), 'cohort-run-health-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A bandit run whose policy says digit `favourite` with logit `strength` and the other digits with 0. */
function makeRun(directory: string, strength: number, maxSequenceLength = 256) {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    id === digitIds[2] ? strength : digitIds.includes(id) ? 0 : -30,
  );
  const policy = new UnigramPolicy({ tokenizer, initialLogits });
  const environment = createBanditEnvironment({
    bandit: { armMeans: [0.2, 0.4, 0.6, 0.8], noise: 'gaussian', noiseStd: 0.2, seed: 1 },
  });
  const trainer = new GrpoTrainer({
    policy,
    optimizer: createOptimizer({
      type: 'adamw',
      learningRate: 1e-6,
      variables: policy.namedVariables(),
    }),
    referenceModel: new UnigramReference(policy),
    environment,
    trainScenarios: [{ id: 'a' }, { id: 'b' }],
    rewards: [],
    config: {
      seed: 5,
      scenariosPerStep: 2,
      groupSize: 6,
      generation: { maxNewTokens: 1 },
      maxSequenceLength,
      evaluation: { everySteps: 0 },
    },
  });
  const events: TrainingRunEvent[] = [];
  const run = new TrainingRun({
    trainer,
    runDirectory: directory,
    steps: 4,
    onEvent: (event) => events.push(event),
  });
  return { run, events };
}

describe('TrainingRun health metrics', () => {
  it("records reply diversity per step from the step's own rollouts, and warns once when a policy repeats one reply", async () => {
    const directory = path.join(root, 'degenerate');
    const { run, events } = makeRun(directory, 12);
    await run.run();
    const steps = parseMetricsLog(await readFile(path.join(directory, 'metrics.jsonl'), 'utf8'));
    const rollouts = events.filter((event) => event.type === 'rollouts');
    expect(rollouts).toHaveLength(4);
    for (const [index, event] of rollouts.entries()) {
      const replies = event.groups
        .flatMap((group) => group.trajectories)
        .flatMap((trajectory) => trajectory.turns.filter((turn) => turn.role === 'assistant'))
        .map((turn) => turn.content);
      expect(replies).toHaveLength(12);
      const expected = replyDiversity(replies);
      expect(steps[index]).toMatchObject({
        distinct1: expected.distinct1,
        distinct2: expected.distinct2,
        topReplyShare: expected.topReplyShare,
        emptyReplyShare: 0,
        lengthEndedFraction: 0,
      });
      // Logit 12 against three zeros: "2" with probability 1 - 3e-5.
      expect(expected.topReplyShare).toBe(1);
    }
    const warnings = events.filter((event) => event.type === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      step: 1,
      message: expect.stringMatching(
        /^degenerate policy\? one reply makes up 100% of the agent's replies at step 1: "2"/,
      ),
    });
  });

  it('does not warn about a policy whose replies vary', async () => {
    const directory = path.join(root, 'varied');
    const { run, events } = makeRun(directory, 0);
    await run.run();
    const steps = parseMetricsLog(await readFile(path.join(directory, 'metrics.jsonl'), 'utf8'));
    // Uniform over 4 digits, 12 replies: the top share stays below one half (seeded; P(>= 6 of 12 alike) is about 0.16 per step).
    for (const step of steps) expect(step.topReplyShare as number).toBeLessThan(0.5);
    expect(events.filter((event) => event.type === 'warning')).toEqual([]);
  });

  it('warns when a step samples nothing because no prompt leaves room for a turn', async () => {
    const directory = path.join(root, 'full');
    const { run, events } = makeRun(directory, 0, 4);
    await run.run();
    const steps = parseMetricsLog(await readFile(path.join(directory, 'metrics.jsonl'), 'utf8'));
    for (const step of steps)
      expect(step).toMatchObject({ sampledTokens: 0, lengthEndedFraction: 1 });
    const messages = events.flatMap((event) => (event.type === 'warning' ? [event.message] : []));
    expect(messages).toEqual([
      'step 1 sampled no tokens: no prompt leaves room for maxNewTokens 1 in maxSequenceLength 4',
      '100% of the episodes of step 1 ended because the context was full (maxSequenceLength 4, maxNewTokens 1)',
    ]);
  });
});
