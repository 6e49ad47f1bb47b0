import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TrajectoryLine } from '@cohort/console';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment } from '@cohort/environments';
import { createOptimizer, initializeBackend, UnigramPolicy, UnigramReference } from '@cohort/tfjs';
import { GrpoTrainer, type TrajectoryRecord } from '@cohort/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logTrajectories } from './trajectory-log';

const tokenizer = new MockTokenizer();
const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);

function makeTrainer() {
  // Digits likelier than other tokens, the end of turn likelier still: replies of a few tokens.
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    digitIds.includes(id) ? 1.5 : id === tokenizer.endOfTurnTokenId ? 1 : -1,
  );
  const policy = new UnigramPolicy({ tokenizer, initialLogits });
  const reference = new UnigramReference(policy);
  return new GrpoTrainer({
    policy,
    optimizer: createOptimizer({
      type: 'adam',
      learningRate: 0.2,
      variables: policy.namedVariables(),
    }),
    referenceModel: reference,
    environment: createBanditEnvironment({
      bandit: { armMeans: [0.1, 0.3, 0.5, 0.7, 0.9], noise: 'gaussian', noiseStd: 0.2, seed: 4 },
    }),
    trainScenarios: [{ id: 'bandit' }],
    rewards: [],
    config: {
      seed: 11,
      scenariosPerStep: 2,
      groupSize: 6,
      generation: { maxNewTokens: 4, temperature: 1 },
      maxSequenceLength: 512,
      minibatchSize: 12,
      kl: { controller: { type: 'fixed', coefficient: 0.5 }, estimator: 'k3' },
    },
  });
}

let scratch: string;
beforeAll(async () => {
  await initializeBackend({ logger: () => {} });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-trajectory-log-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('logTrajectories', () => {
  it("writes each logged token with the learner's advantage, KL and entropy for it", async () => {
    const trainer = makeTrainer();
    const file = path.join(scratch, 'trajectories.jsonl');
    const learned = new Map<string, TrajectoryRecord>();
    trainer.subscribe((event) => {
      if (event.type === 'trajectory-records') {
        for (const record of event.records) learned.set(record.trajectoryId, record);
      }
    });
    const stop = logTrajectories({
      trainer,
      file,
      groupsPerStep: 1,
      onError: (error) => {
        throw error;
      },
    });
    for (let step = 0; step < 3; step++) await trainer.step();
    await stop();

    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TrajectoryLine);
    // One group of 6 per step, numbered as metrics.jsonl numbers steps.
    expect(lines.map((line) => line.step)).toEqual(
      [1, 2, 3].flatMap((step) => Array(6).fill(step)),
    );
    let tokensSeen = 0;
    let positiveKl = 0;
    for (const line of lines) {
      const record = learned.get(line.id)!;
      expect(record.groupId).toBe(line.groupId);
      expect(line.policyVersion).toBe(record.policyVersion);
      const positions = record.lossMask.flatMap((mask, position) => (mask === 1 ? [position] : []));
      const tokens = line.turns.flatMap((turn) => turn.tokens ?? []);
      expect(tokens.map((token) => token.id)).toEqual(positions.map((p) => record.tokenIds[p]));
      const mean =
        lines
          .filter((other) => other.groupId === line.groupId)
          .reduce((sum, other) => sum + other.totalReward, 0) / 6;
      tokens.forEach((token, index) => {
        const position = positions[index]!;
        // 4 significant digits of what the learner used at that position.
        expect(token.logProb).toBeCloseTo(record.behaviorLogProbsPerToken[position]!, 3);
        expect(token.advantage).toBeCloseTo(record.advantagesPerToken[position]!, 3);
        expect(token.kl).toBeCloseTo(record.klPerToken[position]!, 3);
        expect(token.entropy).toBeCloseTo(record.entropyPerToken[position]!, 3);
        // Group-relative advantages: the sign of the reward against the group's mean.
        expect(Math.sign(token.advantage!)).toBe(Math.sign(line.totalReward - mean));
        // Entropy of a distribution over the vocabulary, in (0, log V]; k3 KL is never negative.
        expect(token.entropy!).toBeGreaterThan(0);
        expect(token.entropy!).toBeLessThanOrEqual(Math.log(tokenizer.vocabSize) + 1e-6);
        expect(token.kl!).toBeGreaterThanOrEqual(0);
        if (token.kl! > 0) positiveKl++;
        tokensSeen++;
      });
    }
    expect(tokensSeen).toBeGreaterThan(18);
    // The reference is the initial policy: step 1 samples at KL 0, later steps drift from it.
    expect(
      lines
        .filter((line) => line.step === 1)
        .flatMap((line) => line.turns.flatMap((turn) => turn.tokens ?? []))
        .every((token) => token.kl === 0),
    ).toBe(true);
    expect(positiveKl).toBeGreaterThan(0);
  });
});
