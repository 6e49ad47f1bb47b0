import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initializeBackend } from '@cohort/tfjs';
import { loadCheckpoint, writeTinyLlamaFolder } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrain } from './cli-process';

let scratch = '';
beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-onnx-learner-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('agent-trainer train with engine.learner onnx', () => {
  it('trains the LoRA adapters of a tiny Qwen2 folder with its gradients on ONNX Runtime', async () => {
    const modelDirectory = path.join(scratch, 'tiny-qwen2');
    await writeTinyLlamaFolder(modelDirectory, {
      config: {
        modelType: 'qwen2',
        hiddenSize: 32,
        intermediateSize: 48,
        layerCount: 2,
        headCount: 4,
        keyValueHeadCount: 2,
        contextLength: 128,
      },
      seed: 3,
    });
    const configPath = path.join(scratch, 'onnx-learner.yaml');
    await writeFile(
      configPath,
      [
        'name: onnx-learner',
        'trainer:',
        '  steps: 2',
        '  scenariosPerStep: 2',
        '  groupSize: 4',
        '  minibatchSize: 8',
        '  generation: { maxNewTokens: 4 }',
        '  maxSequenceLength: 128',
        '  optimizer: { learningRate: 0.05 }',
        '  evaluation: { everySteps: 0 }',
        '  evolution: { everyEpisodes: 0 }',
        'environment: { type: bandit }',
        // Random text matches sometimes, so rewards differ within a group and the adapters move.
        "rewards: [{ type: regex, options: { pattern: '[aeiou]' } }]",
        'engine: { learner: onnx }',
        'policy:',
        '  type: tfjs-lm',
        '  lora: { rank: 2, alpha: 4, targets: [q_proj, v_proj, down_proj] }',
        '',
      ].join('\n'),
    );
    const runDirectory = path.join(scratch, 'run');
    const train = await runTrain({ configPath, modelDirectory, runDirectory });
    expect(train.code, `${train.stderr}\n${train.stdout}`).toBe(0);
    expect(train.stderr).not.toMatch(/learns on tfjs/);
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary.stepsCompleted).toBe(2);
    const checkpoints = await readdir(path.join(runDirectory, 'checkpoints'));
    const { weights } = await loadCheckpoint(
      path.join(runDirectory, 'checkpoints', checkpoints.at(-1) as string),
    );
    const lowRankB = Object.entries(weights).filter(([name]) => name.endsWith('.lora_B.weight'));
    expect(lowRankB).toHaveLength(6);
    // B starts at zero: an ONNX gradient reached every adapter.
    for (const [name, tensor] of lowRankB)
      expect(Math.max(...Array.from(tensor.data).map(Math.abs)), name).toBeGreaterThan(0);
  });
});
