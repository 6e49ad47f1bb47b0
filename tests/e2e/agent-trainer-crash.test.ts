import { existsSync, type FSWatcher, watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process';

/** A small seeded generator (LCG) for the kill moments: the same plan every time. */
function moments(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Metric lines without what differs between runs (times, speeds) and run events. */
function comparableMetrics(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.kind !== 'event')
    .map(({ time, timings, stepSeconds, tokensPerSecond, ...rest }) => rest);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-crash-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('agent-trainer under kill -9', () => {
  it('resumes after kills at random moments and during checkpoint writes to bit-identical weights, logs without duplicates, and no temporary files', async () => {
    // The config of the context-edge crash (maxNewTokens 8, groupSize 2, seed 7), made tiny.
    const config = path.join(scratch, 'crash.yaml');
    await writeFile(
      config,
      [
        'trainer:',
        '  seed: 7',
        '  steps: 5',
        '  scenariosPerStep: 1',
        '  groupSize: 2',
        '  minibatchSize: 2',
        '  generation: { maxNewTokens: 8 }',
        '  evaluation: { everySteps: 2, maxScenarios: 2 }',
        '  checkpoint: { everySteps: 1, keep: 2 }',
        '  evolution: { everyEpisodes: 0 }',
        '',
      ].join('\n'),
    );
    // The uninterrupted reference run is a process of its own, in its own folder: it runs while
    // the killed run goes through its cycles, and is awaited before the comparison.
    const reference = path.join(scratch, 'reference');
    const referenceRun = runCli(['train', '--config', config, '--run-dir', reference]);

    const crashed = path.join(scratch, 'crashed');
    const checkpoints = path.join(crashed, 'checkpoints');
    const random = moments(12);
    // The first kill comes right after the step-2 checkpoint is complete, so that every later
    // record comes from a process resumed at step 2 or later: what a process counts for itself
    // (exports of the sampler, say) differs from the uninterrupted run's there, whatever the
    // random moments are.
    const plan = [
      'after-step-2',
      'checkpoint',
      'moment',
      'checkpoint',
      'moment',
      'moment',
    ] as const;
    const kills: { mode: string; debris: string[] }[] = [];
    let finished = false;
    for (let cycle = 0; cycle < 12 && !finished; cycle++) {
      const mode = plan[cycle] ?? 'none';
      const args = existsSync(path.join(crashed, 'config.resolved.json'))
        ? ['train', '--resume', crashed]
        : ['train', '--config', config, '--run-dir', crashed];
      await mkdir(checkpoints, { recursive: true });
      let watcher: FSWatcher | undefined;
      const result = await runCli(args, (child, stderr) => {
        if (mode === 'after-step-2') {
          // The rename of the temporary folder to step-000002 completes the checkpoint.
          watcher = watch(checkpoints, (_event, name) => {
            if (name === 'step-000002' && existsSync(path.join(checkpoints, name))) {
              child.kill('SIGKILL');
            }
          });
        } else if (mode === 'checkpoint') {
          // The moment a checkpoint's temporary folder appears, the write is under way.
          watcher = watch(checkpoints, (_event, name) => {
            if (name?.includes('.tmp-')) child.kill('SIGKILL');
          });
        } else if (mode === 'moment') {
          const delay = random() * 1500;
          const poll = setInterval(() => {
            if (/run directory|resuming/.test(stderr())) {
              clearInterval(poll);
              setTimeout(() => child.kill('SIGKILL'), delay);
            }
          }, 20);
          child.on('close', () => clearInterval(poll));
        }
      });
      watcher?.close();
      if (result.signal === 'SIGKILL') {
        const debris = (await readdir(crashed, { recursive: true }))
          .map(String)
          .filter((name) => /\.tmp|\.old-|run\.lock/.test(name));
        kills.push({ mode, debris });
      } else {
        expect(result.code, result.stderr).toBe(0);
        finished = true;
      }
    }
    expect(finished).toBe(true);
    expect(kills.length).toBeGreaterThanOrEqual(3);
    // At least one kill landed inside a checkpoint write and left its temporary folder behind.
    expect(
      kills.some((kill) => kill.debris.some((name) => /step-\d+\.tmp-/.test(name))),
      JSON.stringify(kills),
    ).toBe(true);

    const whole = await referenceRun;
    expect(whole.code, whole.stderr).toBe(0);
    const final = path.join('checkpoints', 'step-000005');
    for (const file of ['weights.bin', 'optimizer.bin']) {
      const expected = await readFile(path.join(reference, final, file));
      const actual = await readFile(path.join(crashed, final, file));
      expect(actual.equals(expected), file).toBe(true);
    }
    expect(comparableMetrics(await readFile(path.join(crashed, 'metrics.jsonl'), 'utf8'))).toEqual(
      comparableMetrics(await readFile(path.join(reference, 'metrics.jsonl'), 'utf8')),
    );
    expect(await readFile(path.join(crashed, 'samples.jsonl'), 'utf8')).toBe(
      await readFile(path.join(reference, 'samples.jsonl'), 'utf8'),
    );
    const leftovers = (await readdir(crashed, { recursive: true }))
      .map(String)
      .filter((name) => /\.tmp|\.old-|run\.lock/.test(name));
    expect(leftovers).toEqual([]);
  });
});
