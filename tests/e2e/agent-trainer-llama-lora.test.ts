import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initializeBackend } from '@cohort/tfjs';
import { loadCheckpoint, writeTinyLlamaFolder } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = path.join(root, 'apps/agent-trainer/src/bin.ts');

function runCli(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@cohort/source', '--import', 'tsx', cliPath, ...args],
      { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

let scratch = '';
beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-llama-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('agent-trainer train on a Llama-family folder with LoRA', () => {
  it('trains the adapters of a tiny Qwen2 folder (BF16, transformers.js tokenizer) from a config file', async () => {
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
    const configPath = path.join(scratch, 'lora.yaml');
    await writeFile(
      configPath,
      [
        'name: lora',
        'trainer:',
        '  steps: 2',
        '  scenariosPerStep: 2',
        '  groupSize: 4',
        '  minibatchSize: 8',
        '  generation: { maxNewTokens: 4 }',
        '  maxSequenceLength: 128',
        '  evaluation: { everySteps: 0 }',
        '  evolution: { everyEpisodes: 0 }',
        'environment: { type: bandit }',
        'rewards: [{ type: length, options: { maxTokens: 4 } }]',
        'policy:',
        '  type: tfjs-lm',
        `  modelDirectory: ${modelDirectory}`,
        '  lora: { rank: 2, alpha: 4, targets: [q_proj, v_proj, down_proj] }',
        '',
      ].join('\n'),
    );
    const runDirectory = path.join(scratch, 'run');
    const result = await runCli(['train', '--config', configPath, '--run-dir', runDirectory]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary.stepsCompleted).toBe(2);
    const checkpoints = await readdir(path.join(runDirectory, 'checkpoints'));
    const { weights } = await loadCheckpoint(
      path.join(runDirectory, 'checkpoints', checkpoints.at(-1) as string),
    );
    const names = Object.keys(weights);
    // Only the adapters are trained and checkpointed: 2 layers x 3 projections x (A, B).
    expect(names.filter((name) => /\.lora_[AB]\.weight$/.test(name))).toHaveLength(12);
    expect(names.some((name) => name.endsWith('mlp.up_proj.weight'))).toBe(false);
  });
});
