import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointError } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import {
  createGptModel,
  createOptimizer,
  createValueHead,
  initializeBackend,
  UnigramPolicy,
  UnigramReference,
} from '@cohort/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer } from './grpo-trainer';
import { parseMetricsLog } from './metrics-log';
import { TrainingRun } from './training-run';
import { GptValueFunction } from './value-function';

const tokenizer = new MockTokenizer();
const digitIds = [...'0123'].map((digit) => tokenizer.encode(digit)[0]!);
let root: string;

beforeAll(async () => {
  await initializeBackend({ logger: false });
  root = await mkdtemp(path.join(tmpdir(), 'cohort-run-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function makeRun(
  runDirectory: string,
  onStep?: (step: number, run: TrainingRun<{ id: string }>) => void,
  ppo = false,
) {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 1 : -3,
  );
  const policy = new UnigramPolicy({ tokenizer, initialLogits });
  const environment = createBanditEnvironment({
    bandit: {
      armMeans: [0.2, 0.4, 0.6, 0.8],
      noise: 'gaussian',
      noiseStd: 0.2,
      seed: 1,
      drift: { every: 40, kind: 'swap' },
    },
  });
  const optimizer = createOptimizer({
    type: 'adamw',
    learningRate: 0.05,
    maxGradNorm: 5,
    variables: policy.namedVariables(),
  });
  const critic = ppo
    ? new GptValueFunction({
        model: createGptModel({
          config: {
            vocabSize: tokenizer.vocabSize,
            contextLength: 256,
            embeddingSize: 8,
            layerCount: 1,
            headCount: 2,
          },
          seed: 4,
        }),
        head: createValueHead({ inputSize: 8 }),
      })
    : undefined;
  const trainer = new GrpoTrainer({
    policy,
    optimizer,
    ...(critic
      ? {
          valueFunction: critic,
          valueOptimizer: createOptimizer({
            type: 'adam',
            learningRate: 0.01,
            variables: critic.namedVariables(),
          }),
        }
      : {}),
    referenceModel: new UnigramReference(policy),
    environment,
    trainScenarios: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    evalScenarios: [{ id: 'a' }],
    rewards: [],
    config: {
      seed: 11,
      scenariosPerStep: 2,
      groupSize: 4,
      generation: { maxNewTokens: 1 },
      kl: {
        controller: { type: 'adaptive', initialCoefficient: 0.05, target: 0.01, horizon: 100 },
      },
      referenceRefresh: { mode: 'mix', everySteps: 2, alpha: 0.5 },
      evaluation: { everySteps: 3, episodesPerScenario: 4, temperature: 1 },
      checkpoint: { everySteps: 0, keep: 2 },
      value: { enabled: ppo, clipRange: 0.2 },
    },
  });
  const run: TrainingRun<{ id: string }> = new TrainingRun({
    trainer,
    runDirectory,
    steps: 7,
    extraState: {
      save: () => environment.bandit.getState(),
      restore: (state) => environment.bandit.setState(state as never),
    },
    onEvent: (event) => {
      if (event.type === 'step') onStep?.(event.metrics.step, run);
    },
  });
  return { run, policy, optimizer, trainer, critic };
}

describe('TrainingRun', () => {
  it.each([
    ['GRPO', false],
    ['PPO with a critic', true],
  ])(
    'resumes exactly (%s): an interrupted and resumed run ends with the same weights as an uninterrupted one',
    async (name, ppo) => {
      const whole = makeRun(path.join(root, `whole-${name}`), undefined, ppo);
      await whole.run.run();

      const interruptedDirectory = path.join(root, `interrupted-${name}`);
      const first = makeRun(
        interruptedDirectory,
        (step, run) => {
          if (step === 4) run.requestStop('test interrupt');
        },
        ppo,
      );
      const partial = await first.run.run();
      expect(partial.stoppedEarly).toBe(true);
      expect(partial.stepsCompleted).toBe(4);

      const second = makeRun(interruptedDirectory, undefined, ppo);
      expect(await second.run.resume()).toBe(4);
      const summary = await second.run.run();
      expect(summary.stepsCompleted).toBe(7);

      expect(Array.from(second.policy.logits.dataSync())).toEqual(
        Array.from(whole.policy.logits.dataSync()),
      );
      expect(second.optimizer.getState()).toEqual(whole.optimizer.getState());
      expect(second.trainer.getState()).toEqual(whole.trainer.getState());
      if (ppo) expect(second.critic!.getWeights()).toEqual(whole.critic!.getWeights());

      // The metrics logs agree too, apart from times and timings.
      const strip = (text: string) =>
        parseMetricsLog(text)
          .filter((record) => record.kind !== 'event')
          .map(({ time, timings, stepSeconds, tokensPerSecond, ...rest }) => rest);
      const wholeLog = strip(
        await readFile(path.join(root, `whole-${name}`, 'metrics.jsonl'), 'utf8'),
      );
      const resumedLog = strip(
        await readFile(path.join(interruptedDirectory, 'metrics.jsonl'), 'utf8'),
      );
      expect(resumedLog).toEqual(wholeLog);
    },
  );

  it('resumed before its first checkpoint (kill -9 during the first write), starts over with no duplicate log lines and no temporary folders left', async () => {
    const strip = (text: string) =>
      parseMetricsLog(text).map(({ time, timings, stepSeconds, tokensPerSecond, ...rest }) => rest);
    const whole = makeRun(path.join(root, 'whole-before-checkpoint'));
    await whole.run.run();
    const wholeLog = strip(
      await readFile(path.join(root, 'whole-before-checkpoint', 'metrics.jsonl'), 'utf8'),
    );

    // The first run got through all its steps but died while writing its first checkpoint.
    const directory = path.join(root, 'killed-before-checkpoint');
    await makeRun(directory).run.run();
    const halfWritten = path.join(directory, 'checkpoints', 'step-000007.tmp-999999-1-0');
    await mkdir(halfWritten, { recursive: true });
    await writeFile(path.join(halfWritten, 'weights.bin'), 'half');
    const samplesBefore = await readFile(path.join(directory, 'samples.jsonl'), 'utf8');

    const resumed = makeRun(directory);
    expect(await resumed.run.resume()).toBe(0);
    await resumed.run.run();
    expect(await readdir(path.join(directory, 'checkpoints'))).toEqual([]);
    const log = strip(await readFile(path.join(directory, 'metrics.jsonl'), 'utf8'));
    expect(log).toEqual(wholeLog);
    expect(await readFile(path.join(directory, 'samples.jsonl'), 'utf8')).toBe(samplesBefore);
  });

  it('refuses a damaged checkpoint with an error that names the file', async () => {
    const directory = path.join(root, 'damaged');
    const { run } = makeRun(directory, (step, current) => {
      if (step === 1) current.requestStop();
    });
    await run.run();
    const weightsFile = path.join(directory, 'checkpoints', 'step-000001', 'weights.bin');
    const bytes = await readFile(weightsFile);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(weightsFile, bytes);
    const fresh = makeRun(directory);
    await expect(fresh.run.resume()).rejects.toSatisfy(
      (error) => CheckpointError.isInstance(error) && /weights\.bin/.test((error as Error).message),
    );
  });
});
