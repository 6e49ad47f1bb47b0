import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initializeBackend } from '@cohort/tfjs';
import { loadCheckpoint, readLoraAdapter, writeTinyLlamaFolder } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runTrain } from './cli-process';

let scratch = '';
let modelDirectory = '';
beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-llama-e2e-'));
  // The tiny Qwen2 folder both tests train, written once before they run at once.
  modelDirectory = path.join(scratch, 'tiny-qwen2');
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
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The `reply` lines of `chat --json`. */
function replies(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; agent: string })
    .filter((line) => line.type === 'reply')
    .map((line) => line.agent);
}

/**
 * The tiny Qwen2 folder (written in beforeAll) and a 2-step LoRA run's config on the
 * bandit (random text matches the regex sometimes, so rewards differ within a
 * group and the adapters move), with `extraLines` added.
 */
async function tinyQwen2Run(
  name: string,
  extraLines: string[] = [],
): Promise<{ modelDirectory: string; configPath: string }> {
  const configPath = path.join(scratch, `${name}.yaml`);
  await writeFile(
    configPath,
    [
      `name: ${name}`,
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
      "rewards: [{ type: regex, options: { pattern: '[aeiou]' } }]",
      'policy:',
      '  type: tfjs-lm',
      '  lora: { rank: 2, alpha: 4, targets: [q_proj, v_proj, down_proj] }',
      ...extraLines,
      '',
    ].join('\n'),
  );
  return { modelDirectory, configPath };
}

// The two runs are independent processes in folders of their own: they run at once.
describe.concurrent('agent-trainer on a Llama-family folder with LoRA, from the command line', () => {
  it('trains adapters of a tiny Qwen2 folder (--model), saves a PEFT adapter, exports a merged folder with ONNX, and chats with it through transformers.js', async () => {
    const { modelDirectory, configPath } = await tinyQwen2Run('lora');
    const runDirectory = path.join(scratch, 'run');
    const train = await runTrain({ configPath, modelDirectory, runDirectory });
    expect(train.code, train.stderr).toBe(0);
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary.stepsCompleted).toBe(2);
    const resolved = JSON.parse(
      await readFile(path.join(runDirectory, 'config.resolved.json'), 'utf8'),
    );
    expect(resolved.policy.modelDirectory).toBe(path.resolve(modelDirectory));
    const checkpoints = await readdir(path.join(runDirectory, 'checkpoints'));
    const { weights } = await loadCheckpoint(
      path.join(runDirectory, 'checkpoints', checkpoints.at(-1) as string),
    );
    const names = Object.keys(weights);
    // Only the adapters are trained and checkpointed: 2 layers x 3 projections x (A, B).
    expect(names.filter((name) => /\.lora_[AB]\.weight$/.test(name))).toHaveLength(12);
    expect(names.some((name) => name.endsWith('mlp.up_proj.weight'))).toBe(false);

    // The run's adapter in the PEFT layout, equal to the final checkpoint's and trained (B no longer zero).
    expect(train.stderr).toContain(
      `LoRA adapter (PEFT layout) ${path.join(runDirectory, 'adapter')}`,
    );
    const adapter = await readLoraAdapter(path.join(runDirectory, 'adapter'));
    expect(adapter.options).toMatchObject({ rank: 2, alpha: 4 });
    expect([...adapter.options.targets].sort()).toEqual(['down_proj', 'q_proj', 'v_proj']);
    const config = JSON.parse(
      await readFile(path.join(runDirectory, 'adapter', 'adapter_config.json'), 'utf8'),
    );
    expect(config).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 4 });
    expect(config.base_model_name_or_path).toBe(path.resolve(modelDirectory));
    for (const [name, tensor] of Object.entries(adapter.weights)) {
      expect(Array.from(tensor.data)).toEqual(Array.from(weights[name]?.data ?? []));
    }
    const trainedB = adapter.weights['model.layers.0.self_attn.q_proj.lora_B.weight'];
    expect(trainedB?.data.some((value) => value !== 0)).toBe(true);

    // Merge and export: a Hugging Face folder plus onnx/model.onnx. The commands that only read
    // the finished run (chat, eval) run alongside the export; those that read the export, after it.
    const exported = path.join(scratch, 'exported');
    const conversation = 'hello, how can I help you today?\nthank you, goodbye!\n';
    const chat = (args: string[]) =>
      runCli(
        ['chat', ...args, '--max-new-tokens', '6', '--system', 'Be brief.', '--json'],
        undefined,
        conversation,
      );
    const [exportResult, fromRun, evaluation] = await Promise.all([
      runCli(['export', '--run-dir', runDirectory, '--out', exported, '--json']),
      chat(['--run-dir', runDirectory]),
      runCli(['eval', '--run-dir', runDirectory, '--json']),
    ]);
    expect(exportResult.code, exportResult.stderr).toBe(0);
    expect(JSON.parse(exportResult.stdout.trim())).toMatchObject({ type: 'export', merged: true });
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'onnx/model.onnx'])
      expect(existsSync(path.join(exported, file)), file).toBe(true);

    // The same greedy conversation from the run (tfjs, base + adapters) and from the exported ONNX
    // graph on transformers.js (the merged folder on tfjs: export-command.test.ts).
    // eval reads the Llama run; the exported folder is a frozen base for the proxy-tuned policy.
    expect(fromRun.code, fromRun.stderr).toBe(0);
    expect(evaluation.code, evaluation.stderr).toBe(0);
    expect(evaluation.stdout).toContain('"type":"summary"');
    const proxyConfig = path.join(scratch, 'proxy.yaml');
    await writeFile(
      proxyConfig,
      (await readFile(configPath, 'utf8'))
        .replace(
          /policy:[\s\S]*$/,
          'policy:\n  type: proxy\n  delta: { layerCount: 1, embeddingSize: 16, headCount: 2 }\n',
        )
        .replace('name: lora', 'name: proxy'),
    );
    const [fromOnnx, proxy] = await Promise.all([
      chat(['--model', exported, '--engine', 'transformers.js']),
      runCli([
        'train',
        '--config',
        proxyConfig,
        '--model',
        exported,
        '--run-dir',
        path.join(scratch, 'proxy-run'),
        '--steps',
        '1',
      ]),
    ]);
    expect(fromOnnx.code, fromOnnx.stderr).toBe(0);
    expect(replies(fromRun.stdout)).toHaveLength(2);
    expect(replies(fromOnnx.stdout)).toEqual(replies(fromRun.stdout));
    expect(proxy.code, proxy.stderr).toBe(0);
  });

  it('trains the adapters with their gradients on ONNX Runtime (engine.learner onnx)', async () => {
    const { modelDirectory, configPath } = await tinyQwen2Run('onnx-learner', [
      'engine: { learner: onnx }',
    ]);
    const runDirectory = path.join(scratch, 'run-onnx');
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
