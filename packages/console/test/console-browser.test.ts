import { appendFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Random } from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createBanditEnvironment, humanFeedbackReward } from '@cohort/environments';
import { createOptimizer, initializeBackend, UnigramPolicy } from '@cohort/tfjs';
import {
  type CandidateDecision,
  type CandidateGenerator,
  type CandidateSelectorEvent,
  CandidateSelectorTrainer,
  createCandidateUpdateRule,
  createHashingFeaturizer,
  GrpoTrainer,
  MlpCandidateActor,
  MlpRewardCritic,
  type TrainableCandidateActor,
  type TrainableRewardCritic,
} from '@cohort/trainer';
import * as tf from '@tensorflow/tfjs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/console-server';
import { FeedbackBroker } from '../src/feedback-broker';
import { hasChromium, launchBrowser, watchedPage } from './browser';
import {
  populationRecord,
  stepRecord,
  vocabulary,
  writeFixtureRun,
  writePopulationRun,
} from './fixture-run';

if (!hasChromium) {
  console.warn(
    'console-browser.test.ts: SKIPPED, /usr/bin/chromium is missing (apt-get install -y chromium)',
  );
}

/** Set COHORT_CONSOLE_SCREENSHOTS=packages/console/screenshots to refresh the README's pictures. */
const screenshotDirectory = process.env.COHORT_CONSOLE_SCREENSHOTS;
async function screenshot(page: Page, name: string): Promise<void> {
  if (!screenshotDirectory) return;
  await mkdir(screenshotDirectory, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDirectory, `${name}.png`), fullPage: false });
}

const replies = [
  'I issued a refund for your order today.',
  'Please wait while I check.',
  'I cannot help with that.',
  'Have a nice day.',
];
/** A frozen candidate source: the four replies in a seeded order. */
const generator: CandidateGenerator = {
  async propose({ count, seed }) {
    return new Random(seed).sample(replies, count);
  },
};

describe.skipIf(!hasChromium)('the console in headless chromium', () => {
  let root: string;
  let context: BrowserContext;
  let server: ConsoleServer;
  let broker: FeedbackBroker;
  let groupBroker: FeedbackBroker;
  let liveFile: string;
  let populationFile: string;
  const dimension = 32;
  const featurizer = createHashingFeaturizer({ dimension });
  let actor: MlpCandidateActor;
  let critic: MlpRewardCritic;
  const events: CandidateSelectorEvent[] = [];
  const chatRequests: { checkpoint: string | null; turns: number }[] = [];
  let trainer: CandidateSelectorTrainer<TrainableCandidateActor, TrainableRewardCritic>;

  beforeAll(async () => {
    await initializeBackend({ logger: false });
    actor = new MlpCandidateActor({ featureSize: dimension, hiddenSizes: [8], seed: 3 });
    critic = new MlpRewardCritic({ featureSize: dimension, hiddenSizes: [8], seed: 4 });
    root = await mkdtemp(path.join(tmpdir(), 'cohort-console-browser-'));
    const runA = await writeFixtureRun({ root, name: 'support-a', steps: 30 });
    await writeFixtureRun({ root, name: 'support-b', steps: 20 });
    liveFile = path.join(runA.directory, 'metrics.jsonl');
    const populationRun = await writePopulationRun(root, 6);
    populationFile = path.join(populationRun, 'metrics.jsonl');
    const feedbackDirectory = path.join(root, 'selector');
    broker = await FeedbackBroker.open({ runDirectory: feedbackDirectory });
    const groupDirectory = path.join(root, 'grpo-group');
    groupBroker = await FeedbackBroker.open({ runDirectory: groupDirectory });
    trainer = new CandidateSelectorTrainer({
      generator,
      featurizer,
      actor,
      critic,
      updateRule: createCandidateUpdateRule({
        advantage: 'critic',
        epochs: 4,
        klCoefficient: 0.001,
      }),
      reward: broker.candidateReward(),
      candidateCount: 4,
      updateEvery: 2,
      samplesPerQuery: 1,
      seed: 7,
      onEvent: (event) => events.push(event),
    });
    server = await createConsoleServer({
      runDirectories: [
        runA.directory,
        path.join(root, 'support-b'),
        feedbackDirectory,
        groupDirectory,
        populationRun,
      ],
      allowEmptyRuns: true,
      webDirectory: inject('webDirectory'),
      pollMs: 100,
      feedback: [broker, groupBroker],
      // The chat protocol's simplest honest implementation: it answers with the checkpoint and the
      // user's words reversed, so the page's plumbing is checked (the app's model-backed chat is
      // checked end to end in tests/e2e/agent-trainer-console.test.ts).
      chat: {
        async reply({ checkpoint, messages }) {
          chatRequests.push({ checkpoint, turns: messages.length });
          const words = messages.at(-1)!.content.split(' ').reverse().join(' ');
          return {
            reply: `[${checkpoint ?? 'base'}] ${words}`,
            systemPrompt: 'You are <i>kind</i>.',
          };
        },
      },
    });
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    actor?.dispose();
    critic?.dispose();
  });

  it('loads the runs with no console error, and every chart holds the run’s points', async () => {
    const { page, problems, foreignRequests } = await watchedPage(context, server.url.slice(0, -1));
    const started = performance.now();
    await page.goto(server.url);
    await page.waitForSelector('figure.chart canvas');
    const loadMs = performance.now() - started;
    console.info(`console page load with 9 charts of 30 points: ${loadMs.toFixed(0)} ms`);
    const charts = () =>
      page.$$eval('figure.chart', (figures) =>
        figures.map((figure) => {
          const canvas = figure.querySelector('canvas')!;
          // The canvas is not blank: uPlot drew lines on it.
          const context = canvas.getContext('2d')!;
          const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0;
          for (let index = 3; index < pixels.length; index += 4) if (pixels[index]! > 0) inked++;
          return {
            metric: figure.getAttribute('data-metric')!,
            points: Number(figure.getAttribute('data-points')),
            width: canvas.getBoundingClientRect().width,
            inked,
          };
        }),
      );
    const single = await charts();
    expect(single.map((chart) => chart.metric)).toEqual([
      'entropy',
      'episodes',
      'klToReference',
      'loss',
      'rewardMean',
      'rewardMeanByFunction.format',
      'rewardMeanByFunction.goal',
      'timings.rollout',
      'timings.update',
    ]);
    for (const chart of single) {
      // Step 3's loss was NaN in the log: a gap, not a point.
      expect(chart.points, chart.metric).toBe(chart.metric === 'loss' ? 29 : 30);
      expect(chart.width, chart.metric).toBeGreaterThan(200);
      expect(chart.inked, chart.metric).toBeGreaterThan(500);
    }
    // Evaluation tables per category, and the prompt population, as text.
    const categories = await page.$$eval(
      'table[data-table="successRateByCategory"] tbody tr',
      (rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)),
    );
    expect(categories).toHaveLength(6);
    expect(categories[0]).toEqual(['5', '0.7500', '0.2500']);
    expect(await page.$$eval('.generation-table tbody tr', (rows) => rows.length)).toBe(6);
    expect(await page.textContent('.generation-table')).toContain('You are <i>helpful</i>.');
    expect(await page.$$('.generation-table i')).toHaveLength(0);

    // Overlay the second run: 30 + 20 points, two lines and a legend.
    await page.getByLabel('support-b').check();
    await page.waitForFunction(
      () =>
        document.querySelector('figure[data-metric="rewardMean"]')?.getAttribute('data-points') ===
        '50',
    );
    await page.getByLabel('smoothing').fill('0.6');
    await page.waitForSelector('figure[data-metric="rewardMean"] .u-legend');
    await screenshot(page, 'metrics');
    expect(problems).toEqual([]);
    expect(foreignRequests).toEqual([]);
    await page.close();
  });

  it('shows a step that a running trainer appends within two seconds', async () => {
    const { page, problems } = await watchedPage(context, server.url.slice(0, -1));
    await page.goto(server.url);
    await page.waitForSelector('.last-step[data-last-step="30"]');
    const appended = performance.now();
    await appendFile(liveFile, `${JSON.stringify(stepRecord(31))}\n`);
    await page.waitForSelector('.last-step[data-last-step="31"]', { timeout: 2_000 });
    const latencyMs = performance.now() - appended;
    console.info(`live step on the page ${latencyMs.toFixed(0)} ms after the append`);
    expect(latencyMs).toBeLessThan(2_000);
    expect(await page.getAttribute('figure[data-metric="rewardMean"]', 'data-points')).toBe('31');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the sampled tokens with their log-probs, filters, compares and escapes', async () => {
    const { page, problems } = await watchedPage(context, server.url.slice(0, -1));
    await page.goto(`${server.url}#/trajectories`);
    await page.waitForSelector('.conversation');
    // 4 rollouts (2 steps x 2) and 2 evaluation samples.
    expect(await page.$$eval('.conversation', (items) => items.length)).toBe(6);
    await page.getByLabel('step', { exact: true }).selectOption('2');
    expect(await page.$$eval('.conversation', (items) => items.length)).toBe(2);
    const tokens = await page.$$eval('.conversation:first-child .token', (spans) =>
      spans.map((span) => ({
        text: span.textContent,
        id: Number(span.getAttribute('data-token-id')),
        logProb: Number(span.getAttribute('data-log-prob')),
        title: span.getAttribute('title'),
      })),
    );
    // The fixture's agent tokens are ids 1..9, with log-prob -0.1 * (position - 2) for the first trajectory.
    expect(tokens.map((token) => token.text)).toEqual(vocabulary.slice(1));
    expect(tokens.map((token) => token.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    tokens.forEach((token, index) => {
      expect(token.logProb).toBeCloseTo(-0.1 * (index + 1), 10);
      expect(token.title).toContain(`logProb ${(-0.1 * (index + 1)).toFixed(4)}`);
    });
    // '<script>' and ' &amp;' are tokens, shown as text.
    expect(await page.$$eval('.conversation script', (items) => items.length)).toBe(0);
    await page.getByLabel('compare with step').selectOption('1');
    expect(await page.$$eval('.compared .conversation', (items) => items.length)).toBe(2);
    await screenshot(page, 'trajectories');
    await page.getByLabel('compare with step').selectOption('none');
    await page.getByLabel('step', { exact: true }).selectOption('all');
    await page.getByLabel('only degenerate').check();
    const degenerate = await page.$$eval('.conversation', (items) =>
      items.map((item) => item.getAttribute('data-scenario')),
    );
    expect(degenerate).toEqual(['shipping-2']);
    expect(await page.textContent('.conversation .degenerate')).toContain(
      'repeats "sorry the parcel"',
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('takes a person’s keyboard ratings to the candidate selector, which updates on them', async () => {
    const { page, problems } = await watchedPage(context, server.url.slice(0, -1));
    await page.goto(`${server.url}#/feedback`);
    await page.getByLabel('selector (waiting for feedback)').check();
    await page.getByLabel('your name').fill('ada');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const queries = [
      { prompt: 'You are a support agent.', query: 'Where is my refund for order 1?' },
      { prompt: 'You are a support agent.', query: 'Where is my refund for order 2?' },
    ];
    const decisions = () =>
      events.flatMap((event) => (event.type === 'decision' ? [event.decision] : []));
    const probabilityOfChoice = (decision: CandidateDecision) => {
      const probabilities = tf.tidy(() =>
        tf.softmax(actor.logits([decision.candidateFeatures])).dataSync(),
      );
      return probabilities[decision.chosenIndex]!;
    };
    const stepping = trainer.step(queries);
    const before: number[] = [];
    for (let index = 0; index < queries.length; index++) {
      await page.waitForSelector(`.question .query:text-is("${queries[index]!.query}")`);
      const decision = decisions()[index]!;
      // The actor only changes at the update, after both ratings.
      before.push(probabilityOfChoice(decision));
      if (index === 0) await screenshot(page, 'feedback');
      // The person agrees with the actor's choice: reward 1.
      await page.keyboard.press(String(decision.chosenIndex + 1));
    }
    const [first, second] = decisions() as [CandidateDecision, CandidateDecision];
    const summary = await stepping;
    const after = [probabilityOfChoice(first), probabilityOfChoice(second)];
    expect(summary.decisions).toBe(2);
    expect(summary.updates).toHaveLength(1);
    const update = events.find((event) => event.type === 'update');
    expect(update).toMatchObject({ type: 'update', applied: true });
    // The batch held the person's two ratings.
    expect(update?.type === 'update' && update.metrics.meanReward).toBe(1);
    const rewards = events.flatMap((event) =>
      event.type === 'transition' ? [event.transition.reward] : [],
    );
    expect(rewards).toEqual([1, 1]);
    // Rewarded choices became more likely.
    expect(after[0]!).toBeGreaterThan(before[0]! + 1e-3);
    expect(after[1]!).toBeGreaterThan(before[1]! + 1e-3);
    await page.waitForSelector('.rated-count[data-rated="2"]');
    const stored = (await readFile(broker.file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { who: string; answer: number; query: string });
    expect(stored.map((rating) => [rating.who, rating.answer, rating.query])).toEqual([
      ['ada', first.chosenIndex, queries[0]!.query],
      ['ada', second.chosenIndex, queries[1]!.query],
    ]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('takes a person’s keyboard scores of a GRPO group’s replies to the trainer, whose update follows them', async () => {
    // A one-token policy answering with a digit (or nothing), the environment's own reward 0:
    // the only reward is the person's, who likes higher digits (score = digit / 4).
    const tokenizer = new MockTokenizer();
    const digitIds = [...'01234'].map((digit) => tokenizer.encode(digit)[0]!);
    const policy = new UnigramPolicy({
      tokenizer,
      initialLogits: Array.from({ length: tokenizer.vocabSize }, (_, id) =>
        digitIds.includes(id) ? 2 : id === tokenizer.endOfTurnTokenId ? 0 : -4,
      ),
    });
    const groupSize = 4;
    const trainer = new GrpoTrainer({
      policy,
      optimizer: createOptimizer({
        type: 'adam',
        learningRate: 0.1,
        variables: policy.namedVariables(),
      }),
      environment: createBanditEnvironment({
        bandit: { armMeans: [0, 0, 0, 0, 0], noise: 'bernoulli' },
      }),
      trainScenarios: [{ id: 'bandit' }],
      rewards: [
        {
          reward: humanFeedbackReward({
            ask: groupBroker.askGroupForFeedback({ groupSize }),
            range: [0, 1],
          }),
          weight: 1,
        },
      ],
      config: {
        seed: 2,
        scenariosPerStep: 1,
        groupSize,
        generation: { maxNewTokens: 1, temperature: 1 },
        maxSequenceLength: 512,
        minibatchSize: groupSize,
      },
    });
    const { page, problems } = await watchedPage(context, server.url.slice(0, -1));
    await page.goto(`${server.url}#/feedback`);
    await page.getByLabel('grpo-group (waiting for feedback)').check();
    await page.getByLabel('your name').fill('ada');
    await page.locator('body').click({ position: { x: 5, y: 5 } });

    const before = policy.probabilities();
    const stepping = trainer.stepWithRecords();
    await page.waitForSelector('.question[data-kind="group"]');
    const shown = await page.$$eval('.candidates.group .reply', (spans) =>
      spans.map((span) => span.textContent ?? ''),
    );
    expect(shown).toHaveLength(groupSize);
    const digitOf = (reply: string) => (/^[0-4]$/.test(reply.trim()) ? Number(reply.trim()) : 0);
    // Keys 1 to 5 score the marked reply (then the next is marked), Enter sends the group.
    for (const reply of shown) await page.keyboard.press(String(digitOf(reply) + 1));
    await screenshot(page, 'feedback-group');
    await page.keyboard.press('Enter');
    const { records } = await stepping;
    const given = shown.map((reply) => digitOf(reply) / 4);
    // Each rollout got the score of the reply shown at its place, under the reward's name.
    expect(records.map((record) => record.rewardsByFunction['human-feedback'])).toEqual(given);
    await page.waitForSelector('.rated-count[data-rated="1"]');
    const [stored] = (await readFile(groupBroker.file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { who: string; answer: number[]; itemKind: string });
    expect(stored).toMatchObject({ who: 'ada', itemKind: 'group', answer: given });
    // The update follows the person: the best-scored reply's token became likelier, the worst's less.
    const tokenOf = (index: number) => {
      const record = records[index]!;
      return record.tokenIds[record.lossMask.lastIndexOf(1)]!;
    };
    const best = given.indexOf(Math.max(...given));
    const worst = given.indexOf(Math.min(...given));
    expect(given[best]!).toBeGreaterThan(given[worst]!);
    const after = policy.probabilities();
    expect(after[tokenOf(best)]!).toBeGreaterThan(before[tokenOf(best)]! + 1e-3);
    expect(after[tokenOf(worst)]!).toBeLessThan(before[tokenOf(worst)]! - 1e-3);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('chats with a chosen checkpoint, the conversation kept across checkpoints', async () => {
    const { page, problems } = await watchedPage(context, server.url.slice(0, -1));
    await page.goto(`${server.url}#/chat`);
    await page.getByLabel('support-a', { exact: true }).check();
    const select = page.getByLabel('checkpoint');
    await page.waitForSelector('select[aria-label="checkpoint"] option[value="step-000010"]', {
      state: 'attached',
    });
    expect(await select.inputValue()).toBe('step-000010');
    expect(
      await page.$$eval('select[aria-label="checkpoint"] option', (options) =>
        options.map((option) => (option as HTMLOptionElement).value),
      ),
    ).toEqual(['', 'step-000002', 'step-000004', 'step-000010']);
    await select.selectOption('step-000004');
    await page.getByLabel('message').fill('where is <b>my</b> refund');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.chat-assistant');
    expect(await page.textContent('.chat-assistant .text')).toBe(
      '[step-000004] refund <b>my</b> is where',
    );
    expect(await page.textContent('.system-prompt')).toBe('You are <i>kind</i>.');
    expect(await page.$$('.chat b, .chat i')).toHaveLength(0);
    await select.selectOption('');
    await page.getByLabel('message').fill('and now?');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.chat-assistant').length === 2);
    expect(await page.textContent('.chat-assistant:last-of-type .text')).toBe('[base] now? and');
    expect(chatRequests).toEqual([
      { checkpoint: 'step-000004', turns: 1 },
      { checkpoint: null, turns: 3 },
    ]);
    await screenshot(page, 'chat');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a population run’s members per generation with intervals, what was copied, the deployed member, and a new generation live', async () => {
    const { page, problems } = await watchedPage(context, server.url.slice(0, -1));
    await page.goto(server.url);
    await page.getByLabel('population', { exact: true }).check();
    await page.getByLabel('support-a', { exact: true }).uncheck();
    await page.waitForSelector('.population[data-generations="3"]');
    // Three generations of three members: nine means on the chart, one table body per generation.
    expect(await page.getAttribute('.population-chart', 'data-points')).toBe('9');
    expect(await page.$$('.population-chart canvas')).toHaveLength(1);
    expect(await page.$$('.population-table tbody')).toHaveLength(3);
    const lastGeneration = page.locator('.population-table tbody[data-generation="3"]');
    expect(await lastGeneration.locator('tr.best td').nth(1).textContent()).toBe('2 ★');
    expect(await lastGeneration.locator('tr').nth(2).locator('td').nth(3).textContent()).toBe(
      '0.850 [0.800, 0.900]',
    );
    expect(await lastGeneration.locator('tr.changes').textContent()).toContain(
      'member 0 copied m2-g2 (0.220 → 0.500), explored to learningRate 0.0036, klCoefficient 0.04',
    );
    expect(await lastGeneration.locator('tr').nth(2).locator('td').nth(6).textContent()).toBe(
      'copy of m1-g2 (gen 2)',
    );
    expect(await page.textContent('.deployed')).toContain(
      'deployed: member 2 m2-g3, fitness 0.850 [0.800, 0.900], learningRate 0.003, klCoefficient 0.05 (generation 3)',
    );
    expect(await page.textContent('.deployed')).toContain(
      '2 copies, 0 injections, 0 adoptions, 36 fitness episodes',
    );
    // A prompt's markup is text.
    expect(await page.$$('.population-table b')).toHaveLength(0);
    expect(await page.textContent('.population-table')).toContain('Be <b>brief</b>.');
    await page.locator('.population').scrollIntoViewIfNeeded();
    await screenshot(page, 'population');

    const appended = Date.now();
    await appendFile(
      populationFile,
      `${JSON.stringify(stepRecord(7))}\n${JSON.stringify(stepRecord(8))}\n${JSON.stringify(populationRecord(4, 8))}\n`,
    );
    await page.waitForSelector('.population[data-generations="4"]', { timeout: 5_000 });
    expect(Date.now() - appended).toBeLessThan(2_000);
    expect(await page.getAttribute('.population-chart', 'data-points')).toBe('12');
    expect(await page.textContent('.deployed')).toContain('m2-g4');
    expect(problems).toEqual([]);
    await page.close();
  });
});
