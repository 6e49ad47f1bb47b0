import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Scenario } from '@cohort/core';
import { keywordReward } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import { loadCheckpoint } from '@cohort/tfjs/node';
import { createHashingFeaturizer, MlpCandidateActor } from '@cohort/trainer';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchBrowser, watchedPage } from '../../packages/console/test/browser';
import { runCli } from './cli-process';

interface Choice {
  step: number;
  query: string;
  candidates: string[];
  chosenIndex: number;
  probabilities: number[];
  reward: number | null;
}

async function jsonLines<T>(file: string): Promise<T[]> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as T);
}

const withoutTime = <T extends { time?: unknown }>({ time: _time, ...rest }: T) => rest;

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'cohort-selector-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

// Every test here is its own set of processes and folders: they run at once.
describe.concurrent('agent-trainer train with policy candidate-selector', () => {
  it('trains from a reward function, logs each choice with its reward, and resumes exactly', async () => {
    const configPath = path.join(scratch, 'selector.yaml');
    await writeFile(
      configPath,
      [
        'name: selector',
        'policy: { type: candidate-selector, candidates: 3, updateEvery: 2, samplesPerQuery: 2, featureDimension: 64, hiddenSize: 8 }',
        'rewards: [{ type: keyword, options: { required: [refund, order], forbidden: [sorry] } }]',
        'trainer:',
        '  seed: 4',
        '  steps: 3',
        '  generation: { maxNewTokens: 10 }',
        '  evaluation: { everySteps: 0, maxScenarios: 3 }',
        '  checkpoint: { everySteps: 1, keep: 3 }',
        '  evolution: { everyEpisodes: 0 }',
        '  optimizer: { learningRate: 0.001 }',
        '',
      ].join('\n'),
    );
    const whole = path.join(scratch, 'whole');
    const result = await runCli(['train', '--config', configPath, '--run-dir', whole, '--json']);
    expect(result.code, result.stderr).toBe(0);
    // A trainer setting the selector does not read is named, not silently ignored.
    expect(result.stdout).toMatch(
      /"type":"warning".*trainer\.optimizer\.learningRate does not apply to the candidate-selector policy/,
    );
    const summary = JSON.parse(await readFile(path.join(whole, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({
      status: 'completed',
      policy: 'candidate-selector',
      stepsCompleted: 3,
      updates: 3,
      evaluationBefore: { step: 0, episodes: 3 },
      evaluationAfter: { step: 3, episodes: 3 },
    });
    const records = (await jsonLines<Record<string, unknown>>(path.join(whole, 'metrics.jsonl')))
      .filter((record) => record.kind === 'step')
      .map(withoutTime);
    expect(records.map((record) => [record.step, record.decisions, record.updatesApplied])).toEqual(
      [
        [1, 4, 1],
        [2, 4, 1],
        [3, 4, 1],
      ],
    );
    // Every choice was paid what the configured reward gives its reply, recomputed here.
    const reward = keywordReward({ required: ['refund', 'order'], forbidden: ['sorry'] });
    const choices = await jsonLines<Choice>(path.join(whole, 'choices.jsonl'));
    expect(choices).toHaveLength(12);
    for (const choice of choices) {
      const reply = choice.candidates[choice.chosenIndex]!;
      const expected = await reward.score({
        scenario: {} as Scenario,
        messages: [],
        completion: reply,
        turnIndex: 0,
        done: true,
        completionTokenCount: 1,
      });
      expect(choice.reward).toBe(expected);
      expect(choice.candidates).toHaveLength(3);
      expect(choice.probabilities.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5);
    }
    for (const step of [1, 2, 3]) {
      const paid = choices.filter((choice) => choice.step === step).map((choice) => choice.reward!);
      const mean = paid.reduce((sum, value) => sum + value, 0) / paid.length;
      expect(records[step - 1]!.rewardMean).toBeCloseTo(mean, 12);
    }
    const report = await readFile(path.join(whole, 'report.html'), 'utf8');
    expect(report).toContain('Candidate selector: best of K chosen (held-out)');

    // Killed after step 2 (its step-3 checkpoint never written), then resumed: the same run.
    const split = path.join(scratch, 'split');
    await cp(whole, split, { recursive: true });
    await rm(path.join(split, 'checkpoints', 'step-000003'), { recursive: true });
    const resumed = await runCli(['train', '--resume', split, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const manifest = (run: string) =>
      readFile(path.join(run, 'checkpoints', 'step-000003', 'manifest.json'), 'utf8');
    expect(await manifest(split)).toBe(await manifest(whole));
    const resumedRecords = (
      await jsonLines<Record<string, unknown>>(path.join(split, 'metrics.jsonl'))
    )
      .filter((record) => record.kind === 'step')
      .map(withoutTime);
    expect(resumedRecords).toEqual(records);
    expect(await jsonLines<Choice>(path.join(split, 'choices.jsonl'))).toEqual(choices);
  });

  it('accepts the example’s config (examples/console-feedback/selector.yaml) as it stands', async () => {
    const checked = await runCli([
      'train',
      '--config',
      'examples/console-feedback/selector.yaml',
      '--console',
      '--dry-run',
    ]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stderr).toMatch(/10 steps x 4 queries, K = 4 candidates, 4 choices sampled/);
    expect(checked.stderr).not.toMatch(/warning/);
  });

  it('refuses what it cannot train before anything is written', async () => {
    const distributed = path.join(scratch, 'distributed.yaml');
    await writeFile(
      distributed,
      [
        'policy: { type: candidate-selector }',
        'rewards: [{ type: keyword, options: { required: [refund] } }]',
        '',
      ].join('\n'),
    );
    const never = path.join(scratch, 'never');
    const rated = path.join(scratch, 'rated-no-console.yaml');
    await writeFile(
      rated,
      ['policy: { type: candidate-selector }', 'rewards: [{ type: human-feedback }]', ''].join(
        '\n',
      ),
    );
    // Two refusals, independent processes: run at once.
    const [refused, noConsole] = await Promise.all([
      runCli(['train', '--config', distributed, '--run-dir', never, '--workers', '2']),
      runCli(['train', '--config', rated, '--run-dir', never]),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the candidate-selector policy runs in this process/);
    expect(noConsole.code).toBe(2);
    expect(noConsole.stderr).toMatch(/human-feedback.*add --console/);
    expect(existsSync(never)).toBe(false);
  });
});

describe
  .skipIf(!hasChromium)
  .concurrent('train --console with a candidate selector rewarded by a person', () => {
    it('shows the query and the K candidates; the key pressed on the page decides the next update', async () => {
      await initializeBackend({ logger: false });
      const configPath = path.join(scratch, 'rated.yaml');
      await writeFile(
        configPath,
        [
          'name: rated',
          'policy: { type: candidate-selector, candidates: 2, updateEvery: 1, samplesPerQuery: 8, featureDimension: 64, hiddenSize: 8, epochs: 2 }',
          'rewards: [{ type: human-feedback, timeoutSeconds: 300 }]',
          'trainer:',
          '  seed: 2',
          '  steps: 1',
          '  generation: { maxNewTokens: 10 }',
          '  checkpoint: { everySteps: 1, keep: 1 }',
          '  evolution: { everyEpisodes: 0 }',
          '',
        ].join('\n'),
      );
      const runDirectory = path.join(scratch, 'rated');
      const context = await launchBrowser();
      let rating: Promise<{ shown: string[]; problems: string[] }> | undefined;
      try {
        const result = await runCli(
          [
            'train',
            '--config',
            configPath,
            '--run-dir',
            runDirectory,
            '--console',
            '--console-port',
            '0',
          ],
          (_child, stderr) => {
            rating = (async () => {
              let url: string | undefined;
              while (!url) {
                url = /console: open (http:\/\/\S+)/.exec(stderr())?.[1];
                await new Promise((resolve) => setTimeout(resolve, 100));
              }
              const { page, problems } = await watchedPage(context, url.slice(0, -1));
              await page.goto(`${url}#/feedback`);
              await page.getByLabel('your name').fill('ada');
              await page.locator('body').click({ position: { x: 5, y: 5 } });
              await page.waitForSelector('.question .query', { timeout: 120_000 });
              const shown = await page.locator('.question .candidate').allInnerTexts();
              // The person prefers the first reply: key 1.
              await page.keyboard.press('1');
              await page.waitForSelector('.rated-count[data-rated="1"]', { timeout: 60_000 });
              await page.close();
              return { shown, problems };
            })();
          },
        );
        expect(result.code, result.stderr).toBe(0);
        const { shown, problems } = await rating!;
        expect(problems).toEqual([]);
        const [stored] = await jsonLines<{
          who: string;
          answer: number;
          itemKind: string;
          candidates: string[];
        }>(path.join(runDirectory, 'feedback.jsonl'));
        expect(stored).toMatchObject({ who: 'ada', answer: 0, itemKind: 'choose' });
        expect(shown).toHaveLength(2);
        // Each button shows its key, then the candidate.
        expect(shown.map((text) => text.replace(/^\d+\s*/, '').trim())).toEqual(
          stored!.candidates.map((text) => text.trim()),
        );
        // The eight sampled choices of the query were paid by the person's pick: 1 for candidate 0.
        const choices = await jsonLines<Choice>(path.join(runDirectory, 'choices.jsonl'));
        expect(choices).toHaveLength(8);
        expect(choices.map((choice) => choice.reward)).toEqual(
          choices.map((choice) => (choice.chosenIndex === 0 ? 1 : 0)),
        );
        // With seed 3 the actor chose both candidates, so the group's advantages are not all 0 ...
        expect(new Set(choices.map((choice) => choice.reward)).size, JSON.stringify(choices)).toBe(
          2,
        );
        // ... and the update made the picked candidate likelier: the saved actor, recomputed here.
        const checkpoint = await loadCheckpoint(
          path.join(runDirectory, 'checkpoints', 'step-000001'),
        );
        const actor = new MlpCandidateActor({ featureSize: 64, hiddenSizes: [8], seed: 3 });
        actor.setWeights(
          Object.fromEntries(
            Object.entries(checkpoint.weights)
              .filter(([name]) => name.startsWith('actor.'))
              .map(([name, tensor]) => [name.slice('actor.'.length), tensor]),
          ),
        );
        const first = choices[0]!;
        const features = await createHashingFeaturizer({ dimension: 64 }).featurize(
          first.candidates.map((candidate) => `${first.query}\n${candidate}`),
        );
        const after = tf.tidy(() => Array.from(tf.softmax(actor.logits([features])).dataSync()));
        actor.dispose();
        expect(after[0]!).toBeGreaterThan(first.probabilities[0]! + 1e-3);
        const summary = JSON.parse(await readFile(path.join(runDirectory, 'summary.json'), 'utf8'));
        expect(summary).toMatchObject({ status: 'completed', updates: 1, ratings: 1 });
      } finally {
        await context.close();
      }
    });
  });
