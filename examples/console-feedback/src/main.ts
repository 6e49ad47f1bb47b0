import path from 'node:path';
import { type ConsoleServer, createConsoleServer, FeedbackBroker } from '@cohort/console';
import { ensureBuiltWeb } from '@cohort/console/build-web';
import { type CandidateUpdateResult, Random } from '@cohort/core';
import { initializeBackend } from '@cohort/tfjs';
import {
  type CandidateGenerator,
  type CandidateQuery,
  CandidateSelectorTrainer,
  createCandidateUpdateRule,
  createHashingFeaturizer,
  MetricsLog,
  MlpCandidateActor,
  MlpRewardCritic,
} from '@cohort/trainer';

/** Replies a frozen model might offer: three answer a refund request, the rest do not. */
export const helpfulReplies = [
  'I issued a refund for your order today.',
  'A refund for the order is on its way.',
  'Your order refund is approved.',
];
export const unhelpfulReplies = [
  'Please wait while I check.',
  'I cannot help with that.',
  'Have a nice day.',
  'Try turning it off and on.',
  'Thanks for writing in.',
];

/**
 * The frozen candidate source of the example: K replies, one helpful at a
 * seeded position (a stand-in for K samples of a frozen LM; swap in
 * `@cohort/transformers` for real ones).
 */
export const generator: CandidateGenerator = {
  async propose({ count, seed }) {
    const random = new Random(seed);
    const candidates = random.sample(unhelpfulReplies, count - 1);
    candidates.splice(random.int(0, count), 0, random.choice(helpfulReplies));
    return candidates;
  },
};

const prompt = 'You are a support agent.';
export const trainingQueries: CandidateQuery[] = Array.from({ length: 8 }, (_, index) => ({
  prompt,
  query: `Where is my refund for order ${index}?`,
}));
export const heldOutQueries: CandidateQuery[] = Array.from({ length: 40 }, (_, index) => ({
  prompt,
  query: `I want my money back, ticket ${index}.`,
}));

/** What a person looking for the helpful reply would pick; used only to measure, never to train. */
export const helpfulness = ({ response }: { response: string }) =>
  helpfulReplies.includes(response) ? 1 : 0;

export interface FeedbackExampleOptions {
  runDirectory: string;
  /** Console port; 0 picks a free one. */
  port: number;
  /** Passes over the training queries (each asks one question per query). */
  rounds: number;
  log: (line: string) => void;
  /**
   * Called with the console once it listens (tests attach their rater here).
   * What it returns, if anything, is awaited before the console closes, so a
   * client can finish its request instead of having the socket reset under it.
   */
  onConsole?: (server: ConsoleServer) => void | (() => Promise<void>);
}

/**
 * Trains the candidate selector from a person's ratings in the console: for
 * each query the actor samples 4 choices among the K = 4 candidates, the
 * console asks the person which candidate is best (one question per query,
 * however many choices were sampled), a choice scores 1 when it is the one
 * the person picked, and after every M = 32 rated choices the GPRO update
 * trains the actor and the critic. Ratings go to `feedback.jsonl` in the run
 * directory (rerun on the same directory and answered questions are not asked
 * again); each update goes to `metrics.jsonl`, so the console's metrics page
 * shows the selector learning while the person rates.
 */
export async function main(options: FeedbackExampleOptions) {
  await initializeBackend({ logger: false });
  const broker = await FeedbackBroker.open({ runDirectory: options.runDirectory });
  const metrics = new MetricsLog(path.join(options.runDirectory, 'metrics.jsonl'));
  const dimension = 64;
  const actor = new MlpCandidateActor({ featureSize: dimension, hiddenSizes: [16], seed: 3 });
  const critic = new MlpRewardCritic({ featureSize: dimension, hiddenSizes: [16], seed: 4 });
  const trainer = new CandidateSelectorTrainer({
    generator,
    featurizer: createHashingFeaturizer({ dimension }),
    actor,
    critic,
    updateRule: createCandidateUpdateRule({ epochs: 4, klCoefficient: 0.001 }),
    reward: broker.candidateReward(),
    candidateCount: 4,
    samplesPerQuery: 4,
    updateEvery: 32,
    seed: 3,
  });
  const server = await createConsoleServer({
    runDirectories: [options.runDirectory],
    port: options.port,
    allowEmptyRuns: true,
    feedback: [broker],
    webDirectory: await ensureBuiltWeb({
      onBuild: (directory) => options.log(`building the console's front-end into ${directory}`),
    }),
  });
  options.log(`console: open ${server.url}#/feedback and pick the best reply (keys 1-4)`);
  const detach = options.onConsole?.(server);
  try {
    const before = await trainer.evaluate(heldOutQueries, { reward: helpfulness });
    options.log(
      `held-out best-choice rate before: ${before.bestChoiceRate.toFixed(3)} (chance ${before.chanceBestChoiceRate.toFixed(3)})`,
    );
    const updates: CandidateUpdateResult[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const summary = await trainer.step(trainingQueries);
      for (const update of summary.updates) {
        updates.push(update);
        await metrics.append({
          kind: 'step',
          step: updates.length,
          time: new Date().toISOString(),
          actorLoss: update.actorLoss,
          criticLoss: update.criticLoss,
          ...update.metrics,
        });
      }
      options.log(
        `round ${round + 1}: mean rating of the chosen replies ${summary.meanReward.toFixed(3)}`,
      );
    }
    const after = await trainer.evaluate(heldOutQueries, { reward: helpfulness });
    options.log(`held-out best-choice rate after: ${after.bestChoiceRate.toFixed(3)}`);
    return { before, after, updates, ratings: broker.ratings() };
  } finally {
    if (detach) await detach();
    await server.close();
    actor.dispose();
    critic.dispose();
  }
}
