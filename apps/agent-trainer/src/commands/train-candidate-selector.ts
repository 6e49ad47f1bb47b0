import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FeedbackBroker } from '@cohort/console';
import {
  type CandidateEvaluation,
  type CandidateSelectorEvent,
  CandidateSelectorRun,
  type CandidateSelectorRunSummary,
  parseMetricsLog,
  removeStaleTemporaries,
  truncateJsonLines,
} from '@cohort/trainer';
import type { AppConfig } from '../app-config';
import {
  type CandidateFeedbackLink,
  type CandidateSelectorSetup,
  createCandidateSelector,
} from '../candidate-selector-setup';
import type { CliIo } from '../cli-io';
import type { TrainCommand } from '../command-line';
import { configDifferences } from '../dry-run';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { formatDuration, ProgressDisplay } from '../progress';
import { claimRunDirectory, type RunPaths, runPaths, writeJsonAtomic } from '../run-directory';
import { startConsole } from './console-command';
import { writeRunReport } from './report-command';

/** A held-out evaluation of the candidate selector in `summary.json`. */
export interface CandidateEvaluationSummary {
  step: number;
  /** Mean reward of the greedy choices (reward functions only: a person is not asked). */
  rewardMean: number;
  /** How often the greedy choice was the best of the K candidates (ties count). */
  bestChoiceRate: number;
  /** The same two figures for a uniformly random choice among the same candidates. */
  chanceRewardMean: number;
  chanceBestChoiceRate: number;
  /** Queries evaluated (all K candidates scored). */
  episodes: number;
}

/** What `summary.json` holds for a candidate-selector run. */
export interface CandidateSelectorSummaryFile {
  status: 'completed' | 'interrupted';
  policy: 'candidate-selector';
  stepsCompleted: number;
  /** Actor-critic updates applied over the whole run. */
  updates: number;
  seconds: number;
  evaluationBefore?: CandidateEvaluationSummary;
  evaluationAfter?: CandidateEvaluationSummary;
  rewardGain?: number;
  bestChoiceRateGain?: number;
  /** Ratings a person gave on the console (`feedback.jsonl`), over the whole run. */
  ratings?: number;
  degenerationFlags: [];
}

function evaluationSummary(
  evaluation: (CandidateEvaluation & { step: number }) | undefined,
): CandidateEvaluationSummary | undefined {
  if (!evaluation) return undefined;
  return {
    step: evaluation.step,
    rewardMean: evaluation.meanReward,
    bestChoiceRate: evaluation.bestChoiceRate,
    chanceRewardMean: evaluation.chanceMeanReward,
    chanceBestChoiceRate: evaluation.chanceBestChoiceRate,
    episodes: evaluation.evaluated,
  };
}

/** The summary lines printed at the end of a candidate-selector run. */
export function candidateSummaryLines(file: CandidateSelectorSummaryFile): string[] {
  const lines = [`actor-critic updates: ${file.updates}`];
  if (file.ratings !== undefined) lines.push(`ratings given on the console: ${file.ratings}`);
  const before = file.evaluationBefore;
  const after = file.evaluationAfter;
  if (before && after) {
    lines.push(
      `held-out reward of the chosen reply ${before.rewardMean.toFixed(3)} -> ${after.rewardMean.toFixed(3)} (a random choice: ${after.chanceRewardMean.toFixed(3)}), ${after.episodes} queries`,
      `best of K chosen ${before.bestChoiceRate.toFixed(2)} -> ${after.bestChoiceRate.toFixed(2)} (a random choice: ${after.chanceBestChoiceRate.toFixed(2)})`,
    );
  } else if (!before && !after) {
    lines.push(
      'no held-out evaluation: it needs a reward function, and a person is asked only about training queries',
    );
  }
  return lines;
}

/**
 * `agent-trainer train` with `policy: { type: candidate-selector }`: builds the
 * selector (refusing a bad config with nothing written), claims the run
 * directory, and trains with {@link CandidateSelectorRun}: M queries and one
 * actor-critic update per step, `metrics.jsonl`, held-out evaluations with
 * the reward functions, checkpoints, `--resume`. With a `human-feedback`
 * reward, `--console` serves the feedback page, where a person picks the best
 * of the K candidates of each query (keys 1-K, `s` skips); ratings go to the
 * run's `feedback.jsonl` first, so a resumed run asks nothing twice. Ends
 * with `summary.json` and `report.html`; Ctrl-C stops after the step.
 */
export async function trainCandidateSelector(options: {
  command: TrainCommand;
  io: CliIo;
  config: AppConfig;
}): Promise<ExitCode> {
  const { command, io, config } = options;
  if ((command.workers ?? 0) > 0 || command.nats !== undefined) {
    throw new UsageError(
      '--workers and --nats distribute rollouts of a token-level policy; the candidate-selector policy runs in this process',
    );
  }
  const link: CandidateFeedbackLink = {};
  const failures: string[] = [];
  const choices = new ChoiceLog();
  const setup = await createCandidateSelector({
    config,
    link,
    onRewardFailure: (failure) =>
      failures.push(`reward "${failure.rewardName}" failed: ${failure.message}`),
    onSelectorEvent: (event) => choices.record(event),
    ...(command.verbose ? { log: (line: string) => io.stderr.write(`${line}\n`) } : {}),
  });
  try {
    if (command.dryRun) {
      const differences = configDifferences(config);
      const policy = config.policy as Extract<AppConfig['policy'], { type: 'candidate-selector' }>;
      const batch = [
        `candidate selector: ${config.trainer.steps} steps x ${policy.updateEvery} queries, K = ${policy.candidates} candidates, ${policy.samplesPerQuery} choices sampled per query`,
        `${setup.trainQueries.length} training queries, ${setup.evalQueries.length} held-out queries${setup.evaluationReward ? '' : ' (not evaluated: no reward function)'}`,
      ];
      if (command.json) {
        io.stdout.write(
          `${JSON.stringify({ type: 'dry-run', preset: config.preset, differences, batch, warnings: setup.warnings })}\n`,
        );
      } else {
        io.stderr.write(
          `${[
            `config ${command.resume ? runPaths(command.resume).config : (command.config ?? '(the default run)')} is valid; preset ${config.preset}`,
            ...batch,
            ...setup.warnings.map((warning) => `warning: ${warning}`),
            'dry run: nothing was created',
          ].join('\n')}\n`,
        );
      }
      return exitCodes.ok;
    }
    const { paths, lock } = await claimRunDirectory(command, config.name);
    try {
      return await trainInDirectory({
        command,
        io,
        config,
        setup,
        link,
        paths,
        failures,
        choices,
      });
    } finally {
      await lock.release();
    }
  } finally {
    setup.dispose();
  }
}

async function trainInDirectory(options: {
  command: TrainCommand;
  io: CliIo;
  config: AppConfig;
  setup: CandidateSelectorSetup;
  link: CandidateFeedbackLink;
  paths: RunPaths;
  failures: string[];
  choices: ChoiceLog;
}): Promise<ExitCode> {
  const { command, io, config, setup, link, paths, choices } = options;
  if (!command.resume) {
    await removeStaleTemporaries(paths.root);
    await writeJsonAtomic(paths.config, config);
  }
  const started = performance.now();
  const policy = config.policy as Extract<AppConfig['policy'], { type: 'candidate-selector' }>;
  const progress = new ProgressDisplay({
    totalSteps: config.trainer.steps,
    startStep: 0,
    human: io.stderr,
    machine: io.stdout,
    json: command.json,
  });
  const warn = (message: string, step: number) => {
    progress.message(`warning: ${message}`);
    progress.emitJson({ type: 'warning', step, message });
  };
  for (const warning of setup.warnings) warn(warning, 0);
  const run = new CandidateSelectorRun({
    trainer: setup.trainer,
    runDirectory: paths.root,
    steps: config.trainer.steps,
    queriesPerStep: policy.updateEvery,
    trainQueries: setup.trainQueries,
    seed: config.trainer.seed,
    ...(setup.evaluationReward && setup.evalQueries.length > 0
      ? {
          evaluation: {
            queries: setup.evalQueries,
            reward: setup.evaluationReward,
            everySteps: config.trainer.evaluation.everySteps,
            seed: config.trainer.evaluation.seed,
          },
        }
      : {}),
    checkpoint: config.trainer.checkpoint,
    onEvent: (event) => {
      for (const failure of options.failures.splice(0)) warn(failure, run.currentStep);
      switch (event.type) {
        case 'step': {
          const { metrics } = event;
          progress.message(
            `step ${metrics.step}/${config.trainer.steps} reward ${Number(metrics.rewardMean).toFixed(3)} choices ${metrics.decisions} (skipped ${metrics.skipped}) actor loss ${typeof metrics.actorLoss === 'number' ? metrics.actorLoss.toFixed(4) : '-'} updates ${metrics.actorUpdates}`,
          );
          progress.emitJson({ type: 'step', ...metrics });
          break;
        }
        case 'evaluation': {
          const { metrics } = event;
          progress.message(
            `eval  step ${metrics.step}: reward ${Number(metrics.rewardMean).toFixed(3)} best of K ${Number(metrics.bestChoiceRate).toFixed(2)} (random ${Number(metrics.chanceBestChoiceRate).toFixed(2)}) over ${metrics.episodes} queries`,
          );
          progress.emitJson({ type: 'evaluation', ...metrics });
          break;
        }
        case 'checkpoint':
          progress.emitJson({ type: 'checkpoint', step: event.step, directory: event.directory });
          break;
        case 'stopped':
          progress.message(`stopped at step ${event.step}: ${event.reason}`);
          break;
      }
    },
  });
  const choicesFile = path.join(paths.root, choicesFileName);
  if (command.resume) {
    const from = await run.resume();
    await truncateJsonLines(
      choicesFile,
      (record) => typeof record.step === 'number' && record.step <= from,
    );
    progress.message(`resuming ${paths.root} from step ${from}`);
  } else {
    progress.message(`run directory ${paths.root}`);
  }
  let broker: FeedbackBroker | undefined;
  // trainCommand refused a human-feedback reward without --console before anything was written.
  if (setup.humanFeedbackTimeoutSeconds !== undefined) {
    broker = await FeedbackBroker.open({ runDirectory: paths.root });
    link.reward = broker.candidateReward({
      timeoutMs: setup.humanFeedbackTimeoutSeconds * 1000,
    });
  }
  const server = command.console
    ? await startConsole(
        {
          runDirectories: [paths.root],
          port: command.console.port,
          allowEmptyRuns: true,
          ...(broker ? { feedback: [broker] } : {}),
        },
        io,
      )
    : undefined;
  if (server) {
    progress.message(
      `console: open ${server.url}${broker ? ` (pick the best reply on ${server.url}#/feedback, keys 1-${policy.candidates})` : ''}`,
    );
  }
  let interrupted = false;
  const removeHandler = io.onInterrupt(() => {
    interrupted = true;
    run.requestStop('interrupted (SIGINT)');
    progress.message('interrupt: finishing the current step, then saving a checkpoint');
    removeHandler();
  });
  let summary: CandidateSelectorRunSummary;
  choices.start(choicesFile, () => run.currentStep + 1);
  try {
    summary = await run.run();
  } finally {
    await choices.stop();
    removeHandler();
    link.reward = undefined;
    if (server) {
      await server.close();
      progress.message(`console closed; to keep looking: agent-trainer console ${paths.root}`);
    }
    progress.close();
  }
  const evaluationBefore =
    evaluationSummary(summary.firstEvaluation) ?? (await loggedEvaluation(paths, 'first'));
  const evaluationAfter =
    evaluationSummary(summary.lastEvaluation) ?? (await loggedEvaluation(paths, 'last'));
  const file: CandidateSelectorSummaryFile = {
    status: interrupted ? 'interrupted' : 'completed',
    policy: 'candidate-selector',
    stepsCompleted: summary.stepsCompleted,
    updates: setup.trainer.updates,
    seconds: (performance.now() - started) / 1000,
    ...(evaluationBefore ? { evaluationBefore } : {}),
    ...(evaluationAfter ? { evaluationAfter } : {}),
    ...(evaluationBefore && evaluationAfter
      ? {
          rewardGain: evaluationAfter.rewardMean - evaluationBefore.rewardMean,
          bestChoiceRateGain: evaluationAfter.bestChoiceRate - evaluationBefore.bestChoiceRate,
        }
      : {}),
    ...(broker ? { ratings: broker.ratings().length } : {}),
    degenerationFlags: [],
  };
  await writeJsonAtomic(paths.summary, file);
  const reportPath = await writeRunReport(paths.root);
  if (command.json) {
    io.stdout.write(
      `${JSON.stringify({ type: 'summary', runDirectory: paths.root, report: reportPath, ...file })}\n`,
    );
  } else {
    io.stderr.write(
      `${[
        `${interrupted ? 'interrupted' : 'done'}: ${run.currentStep}/${config.trainer.steps} steps in ${formatDuration(file.seconds)}`,
        ...candidateSummaryLines(file),
        `run directory ${paths.root}`,
        `report ${reportPath}`,
      ].join('\n')}\n`,
    );
  }
  return interrupted ? exitCodes.interrupted : exitCodes.ok;
}

/** An evaluation of the run's log (a resumed run that had nothing left to do evaluated nothing). */
async function loggedEvaluation(
  paths: RunPaths,
  which: 'first' | 'last',
): Promise<CandidateEvaluationSummary | undefined> {
  let text: string;
  try {
    text = await readFile(paths.metrics, 'utf8');
  } catch {
    return undefined;
  }
  const evaluations = parseMetricsLog(text).filter((record) => record.kind === 'evaluation');
  const record = which === 'first' ? evaluations[0] : evaluations.at(-1);
  if (!record || typeof record.bestChoiceRate !== 'number') return undefined;
  return {
    step: record.step,
    rewardMean: Number(record.rewardMean),
    bestChoiceRate: record.bestChoiceRate,
    chanceRewardMean: Number(record.chanceRewardMean),
    chanceBestChoiceRate: Number(record.chanceBestChoiceRate),
    episodes: Number(record.episodes),
  };
}

/** The file of a candidate-selector run with each rewarded or skipped choice, one JSON line each. */
export const choicesFileName = 'choices.jsonl';

/** One line of `choices.jsonl`: a choice of the actor, what the candidates were, and its reward. */
export interface ChoiceRecord {
  kind: 'choice';
  step: number;
  query: string;
  candidates: string[];
  chosenIndex: number;
  /** The actor's probabilities over the K candidates when it chose. */
  probabilities: number[];
  /** null when the choice was skipped (`skipped` says why). */
  reward: number | null;
  skipped?: string;
  actorVersion: number;
}

/**
 * Appends each rewarded or skipped choice of the selector to `choices.jsonl`,
 * in order, with the step it belongs to: what the actor saw and chose, and
 * what it was paid (the console and a person read what was learned from).
 */
class ChoiceLog {
  private file: string | undefined;
  private stepOf: () => number = () => 0;
  private writes: Promise<void> = Promise.resolve();
  private failed: unknown;

  start(file: string, stepOf: () => number): void {
    this.file = file;
    this.stepOf = stepOf;
  }

  record(event: CandidateSelectorEvent): void {
    if (this.file === undefined) return;
    if (event.type !== 'transition' && event.type !== 'skipped') return;
    const { decision } = event;
    const line: ChoiceRecord = {
      kind: 'choice',
      step: this.stepOf(),
      query: decision.query,
      candidates: decision.candidates,
      chosenIndex: decision.chosenIndex,
      probabilities: decision.probabilities,
      reward: event.type === 'transition' ? event.transition.reward : null,
      ...(event.type === 'skipped' ? { skipped: event.reason } : {}),
      actorVersion: decision.actorVersion,
    };
    const file = this.file;
    this.writes = this.writes.then(() =>
      appendFile(file, `${JSON.stringify(line)}\n`).catch((error: unknown) => {
        this.failed ??= error;
      }),
    );
  }

  /** Waits for the lines written so far; throws the first write error. */
  async stop(): Promise<void> {
    await this.writes;
    this.file = undefined;
    if (this.failed !== undefined) throw this.failed;
  }
}
