import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initializeBackend } from '@cohort/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinySupportDeskLlama } from '../tiny-support-desk-llama';
import { runCli, runTrain } from './cli-process';

/**
 * `train` on the support desk with an LLM customer played by a local
 * transformers.js model: a tiny Llama the test writes (random weights, a
 * tokenizer trained on the desk's prompts) with its ONNX graph, which is
 * also the policy. A random model is a poor customer; the run must finish
 * and count what it did.
 */
let scratch = '';
let modelDirectory = '';

beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-customer-e2e-'));
  modelDirectory = path.join(scratch, 'tiny-llama');
  await writeTinySupportDeskLlama(modelDirectory, { seed: 6, onnx: true });
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function writeConfig(user: string): Promise<string> {
  const configPath = path.join(scratch, 'customer.yaml');
  await writeFile(
    configPath,
    [
      'name: customer',
      'trainer:',
      '  steps: 1',
      '  scenariosPerStep: 2',
      '  groupSize: 2',
      '  minibatchSize: 4',
      '  generation: { maxNewTokens: 8 }',
      '  maxSequenceLength: 1024',
      '  evaluation: { everySteps: 0 }',
      '  evolution: { everyEpisodes: 0 }',
      'environment:',
      '  type: support-desk',
      '  trainTasks: 4',
      '  evalTasks: 2',
      '  maxAgentTurns: 2',
      `  user: ${user}`,
      '',
    ].join('\n'),
  );
  return configPath;
}

describe('agent-trainer train on the support desk with an LLM customer', () => {
  it('states the customer in --dry-run, trains a step with a local model as the customer, and counts its answers', async () => {
    const user = `{ type: llm, model: ${JSON.stringify(modelDirectory)}, maxTokens: 6, temperature: 0.5, historyMessages: 4 }`;
    const configPath = await writeConfig(user);
    const runDirectory = path.join(scratch, 'run');
    // The dry run writes nothing: it and the training run are run at once.
    const [dry, train] = await Promise.all([
      runCli(['train', '--config', configPath, '--model', modelDirectory, '--dry-run']),
      runTrain({ configPath, modelDirectory, runDirectory }),
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(
      `customer: LLM, local model ${modelDirectory}, temperature 0.5, maxTokens 6, timeoutMs 30000, answers cached`,
    );

    expect(train.code, train.stderr).toBe(0);
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary.stepsCompleted).toBe(1);
    const counts = summary.userSimulator;
    // Up to 2 agent turns per episode go to the customer (unless they call a tool): 2 scenarios x 2
    // samples in the step, and the 2 held-out tasks evaluated before and after it.
    expect(summary.evaluationBefore.episodes).toBe(2);
    expect(counts.calls).toBeGreaterThanOrEqual(1);
    expect(counts.calls).toBeLessThanOrEqual(2 * (2 * 2 + 2 * 2));
    expect(counts.replies + counts.stops + counts.fallbacks).toBe(counts.calls);
    expect(
      Object.values(counts.fallbacksByReason as Record<string, number>).reduce((a, b) => a + b, 0),
    ).toBe(counts.fallbacks);
    expect(train.stderr).toContain(
      `LLM customer: ${counts.calls} answers (${counts.cached} cached)`,
    );
    const report = await readFile(path.join(runDirectory, 'report.html'), 'utf8');
    expect(report).toContain('LLM customer answers (cached)');
  });
});
