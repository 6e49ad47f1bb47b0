import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initializeBackend } from '@cohort/tfjs';
import { loadCheckpoint, readLoraAdapter, writeTinyLlamaFolder } from '@cohort/tfjs/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runTrain } from './cli-process';

let scratch = '';
beforeAll(async () => {
  await initializeBackend({ logger: false });
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-population-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface PopulationLine {
  kind: string;
  step: number;
  generation: number;
  episode: number;
  best: number;
  members: { fitness: { mean: number } }[];
  exploits: { targetIndex: number; sourceId: string; promptChanged?: boolean }[];
}

async function populationLines(runDirectory: string): Promise<PopulationLine[]> {
  const text = await readFile(path.join(runDirectory, 'metrics.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as PopulationLine)
    .filter((line) => line.kind === 'population');
}

/** A checkpoint's saved member weights (base64 float32) as plain arrays. */
function decoded(weights: Record<string, { data: string }>): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(weights).map(([name, tensor]) => {
      const bytes = Buffer.from(tensor.data, 'base64');
      return [
        name,
        Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)),
      ];
    }),
  );
}

// The two runs are independent processes in folders of their own: they run at once.
describe.concurrent('agent-trainer train with a population of LoRA adapters', () => {
  it('runs PBT with prompt evolution on a tiny Llama, reports every generation, deploys the fittest member, and resumes the population', async () => {
    const modelDirectory = path.join(scratch, 'tiny-llama');
    await writeTinyLlamaFolder(modelDirectory, {
      config: {
        modelType: 'llama',
        hiddenSize: 32,
        intermediateSize: 48,
        layerCount: 1,
        headCount: 4,
        keyValueHeadCount: 2,
        contextLength: 128,
      },
      seed: 5,
    });
    const configPath = path.join(scratch, 'population.yaml');
    await writeFile(
      configPath,
      [
        'name: population',
        'trainer:',
        '  steps: 6',
        '  scenariosPerStep: 1',
        '  groupSize: 4',
        '  minibatchSize: 4',
        '  generation: { maxNewTokens: 4 }',
        '  maxSequenceLength: 128',
        '  optimizer: { learningRate: 0.05 }',
        // Sampled fitness episodes on a fixed seed: differently trained adapters score differently.
        '  evaluation: { everySteps: 0, episodesPerScenario: 6, temperature: 1 }',
        '  checkpoint: { everySteps: 3, keep: 2 }',
        'environment: { type: bandit }',
        "rewards: [{ type: regex, options: { pattern: '[aeiou]' } }]",
        "systemPrompt: 'Pick an arm.'",
        'policy:',
        '  type: tfjs-lm',
        '  lora: { rank: 2, alpha: 4, targets: [q_proj, v_proj, down_proj] }',
        // Every member's gradients on the hybrid engine's worker pool (its replicas take each member's adapters).
        'engine: { learnerWorkers: 2 }',
        'population:',
        '  schedule: [pbt, prompts]',
        '  members: 3',
        '  everyEpisodes: 8',
        '  quantile: 0.5',
        '  adoptionMargin: 0',
        '  fitness: reward',
        '  fitnessScenarios: 1',
        '',
      ].join('\n'),
    );
    const runDirectory = path.join(scratch, 'run');
    const train = await runTrain({ configPath, modelDirectory, runDirectory });
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toContain('population generation 1 (episode 8): fitness 0:');
    expect(train.stderr).not.toMatch(/learnerWorkers .* is not used|learns in the main thread/);
    expect(train.stderr).toMatch(/population \(pbt \+ prompts, 3 members\): 3 generations/);
    expect(train.stderr).toMatch(/deployed member \d \(member-\d+/);

    // One generation every 8 episodes (2 steps of 4), logged with each member's fitness.
    const lines = await populationLines(runDirectory);
    expect(lines.map((line) => [line.step, line.episode])).toEqual([
      [2, 8],
      [4, 16],
      [6, 24],
    ]);
    const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
    expect(summary.stepsCompleted).toBe(6);
    const copies = lines.reduce((sum, line) => sum + line.exploits.length, 0);
    expect(copies).toBeGreaterThan(0);
    expect(summary.population).toMatchObject({
      mode: 'pbt',
      evolvePrompts: true,
      generations: 3,
      copies,
      promptAdoptions: lines.reduce(
        (sum, line) => sum + line.exploits.filter((exploit) => exploit.promptChanged).length,
        0,
      ),
      best: { index: lines.at(-1)!.best },
    });
    // The deployed member is the fittest of the last generation, and its prompt is the run's.
    const last = lines.at(-1)!;
    const fittest = Math.max(...last.members.map((member) => member.fitness.mean));
    expect(last.members[last.best]!.fitness.mean).toBe(fittest);
    expect(summary.systemPrompt).toBe(summary.population.best.systemPrompt);

    // The members' rollouts reach trajectories.jsonl, numbered by the population's steps.
    const trajectorySteps = (await readFile(path.join(runDirectory, 'trajectories.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { step: number }).step);
    expect([...new Set(trajectorySteps)]).toEqual([1, 2, 3, 4, 5, 6]);

    const report = await readFile(path.join(runDirectory, 'report.html'), 'utf8');
    expect(report).toContain('Member fitness per generation');
    expect(report).toContain('★');
    expect(report).toContain(`${copies} copies of a better member`);

    // The final checkpoint and the PEFT adapter hold the deployed member's adapters.
    const checkpoints = (await readdir(path.join(runDirectory, 'checkpoints'))).sort();
    expect(checkpoints.at(-1)).toBe('step-000006');
    const saved = await loadCheckpoint(path.join(runDirectory, 'checkpoints', 'step-000006'));
    const state = saved.metadata?.adapterPopulation as {
      members: { weights: Record<string, { data: string }> }[];
    };
    const bestWeights = decoded(state.members[last.best]!.weights);
    const adapter = await readLoraAdapter(path.join(runDirectory, 'adapter'));
    for (const [name, tensor] of Object.entries(adapter.weights)) {
      expect(Array.from(tensor.data), name).toEqual(bestWeights[name]);
      expect(Array.from(saved.weights[name]!.data), name).toEqual(bestWeights[name]);
    }

    // Resumed to 8 steps: the population continues from step 6 and runs its fourth generation.
    const resumed = await runCli(['train', '--resume', runDirectory, '--steps', '8']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming');
    const after = await populationLines(runDirectory);
    expect(after.map((line) => line.step)).toEqual([2, 4, 6, 8]);
    const resumedSummary = JSON.parse(
      await readFile(path.join(runDirectory, 'summary.json'), 'utf8'),
    );
    expect(resumedSummary.stepsCompleted).toBe(8);
    expect(resumedSummary.population.generations).toBe(4);
  });

  it('refuses a population with rollout workers before creating anything', async () => {
    const configPath = path.join(scratch, 'refused.yaml');
    await writeFile(
      configPath,
      ['environment: { type: bandit }', 'population: { everyEpisodes: 8 }', ''].join('\n'),
    );
    const result = await runCli([
      'train',
      '--config',
      configPath,
      '--workers',
      '2',
      '--run-dir',
      path.join(scratch, 'refused-run'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/population.*--workers/);
    await expect(readdir(path.join(scratch, 'refused-run'))).rejects.toThrow();
  });
});
