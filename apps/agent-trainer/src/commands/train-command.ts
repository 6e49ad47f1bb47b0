import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createPromptEvolution,
  TrainingRun,
  type TrainingRunEvent,
  type TrainingSummary,
} from '@cohort/trainer';
import {
  type AppConfig,
  defaultAppConfigInput,
  readConfigFile,
  resolveAppConfig,
} from '../app-config';
import type { CliIo } from '../cli-io';
import type { TrainCommand } from '../command-line';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { formatDuration, ProgressDisplay } from '../progress';
import { supportPromptPhrases } from '../prompt-phrases';
import { createRunDirectory, type RunPaths, runPaths, writeJsonAtomic } from '../run-directory';
import { createTrainer } from '../training-setup';
import { writeRunReport } from './report-command';
import { attachTrainingConsole } from './training-console';

async function resolveConfig(command: TrainCommand): Promise<AppConfig> {
  const overrides = {
    ...(command.preset ? { preset: command.preset } : {}),
    ...(command.steps !== undefined ? { steps: command.steps } : {}),
    ...(command.environment ? { environmentModule: command.environment } : {}),
  };
  if (command.resume) {
    const configPath = runPaths(command.resume).config;
    let text: string;
    try {
      text = await readFile(configPath, 'utf8');
    } catch {
      throw new UsageError(
        `cannot resume ${command.resume}: ${configPath} not found (is this a run directory?)`,
      );
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      throw new UsageError(`cannot resume ${command.resume}: ${configPath} is not JSON`);
    }
    return resolveAppConfig(input, overrides);
  }
  const input = command.config ? await readConfigFile(command.config) : defaultAppConfigInput;
  return resolveAppConfig(input, overrides);
}

/** What `summary.json` holds. */
export interface RunSummaryFile {
  status: 'completed' | 'interrupted';
  stepsCompleted: number;
  seconds: number;
  evaluationBefore?: { step: number; rewardMean: number; successRate: number; episodes: number };
  evaluationAfter?: { step: number; rewardMean: number; successRate: number; episodes: number };
  /** Evaluation reward after minus before. */
  rewardGain?: number;
  successRateGain?: number;
  generations: number;
  systemPrompt: string | null;
}

function evaluationNumbers(
  metrics: TrainingSummary['lastEvaluation'],
): RunSummaryFile['evaluationBefore'] {
  if (!metrics) return undefined;
  return {
    step: metrics.step,
    rewardMean: metrics.rewardMean,
    successRate: metrics.successRate,
    episodes: metrics.episodes,
  };
}

async function previousFirstEvaluation(
  paths: RunPaths,
): Promise<RunSummaryFile['evaluationBefore']> {
  try {
    const previous = JSON.parse(await readFile(paths.summary, 'utf8')) as RunSummaryFile;
    return previous.evaluationBefore;
  } catch {
    return undefined;
  }
}

/**
 * `agent-trainer train`: resolves and validates the config (before any
 * work), creates or reopens the run directory, trains with live progress,
 * and writes `summary.json` and `report.html`. Ctrl-C stops after the
 * current step, saves a checkpoint, the summary and the report, and exits 130.
 */
export async function trainCommand(command: TrainCommand, io: CliIo): Promise<ExitCode> {
  const config = await resolveConfig(command);
  const paths = command.resume
    ? runPaths(command.resume)
    : await createRunDirectory({
        name: command.name ?? config.name,
        ...(command.runsRoot ? { root: command.runsRoot } : {}),
        ...(command.runDirectory ? { directory: command.runDirectory } : {}),
      });
  if (!command.resume) await writeJsonAtomic(paths.config, config);
  const started = performance.now();
  const human = io.stderr;
  const trainer = await createTrainer({
    config,
    ...(command.verbose ? { log: (line: string) => io.stderr.write(`${line}\n`) } : {}),
  });
  const progress = new ProgressDisplay({
    totalSteps: config.trainer.steps,
    startStep: 0,
    human,
    machine: io.stdout,
    json: command.json,
  });
  const onEvent = (event: TrainingRunEvent): void => {
    switch (event.type) {
      case 'step':
        progress.step(event.metrics);
        break;
      case 'evaluation':
        progress.evaluation(event.metrics);
        break;
      case 'warning':
        progress.message(`warning (step ${event.step}): ${event.message}`);
        progress.emitJson({ type: 'warning', step: event.step, message: event.message });
        break;
      case 'reward-failure':
        progress.message(`reward failure (step ${event.step}): ${JSON.stringify(event.failure)}`);
        break;
      case 'checkpoint':
        if (command.verbose)
          progress.message(`checkpoint ${path.relative(process.cwd(), event.directory)}`);
        progress.emitJson({ type: 'checkpoint', step: event.step, directory: event.directory });
        break;
      case 'generation':
        progress.message(
          `generation ${event.record.generation}: best ${event.record.bestFitness.toFixed(3)} mean ${event.record.meanFitness.toFixed(3)}${event.record.adopted ? ' (adopted a new system prompt)' : ''}`,
        );
        progress.emitJson({ type: 'generation', step: event.step, ...event.record });
        break;
      case 'stopped':
        progress.message(`stopped at step ${event.step}: ${event.reason}`);
        break;
      default:
        break;
    }
  };
  const evolution = trainer.systemPrompt
    ? await createPromptEvolution({
        trainer,
        initialPrompts: config.evolution?.prompts ?? [],
        phrases: supportPromptPhrases,
      })
    : null;
  if (!evolution && config.trainer.evolution.everyEpisodes > 0) {
    progress.message('prompt evolution is off: the environment has no system prompt to evolve');
  }
  const run = new TrainingRun({
    trainer,
    runDirectory: paths.root,
    steps: config.trainer.steps,
    onEvent,
    ...(evolution ? { evolution } : {}),
  });
  if (command.resume) {
    const from = await run.resume();
    progress.message(`resuming ${paths.root} from step ${from}`);
  } else {
    progress.message(`run directory ${paths.root}`);
  }
  const attached = await attachTrainingConsole({
    trainer,
    runDirectory: paths.root,
    ...(command.console ? { console: command.console } : {}),
    io,
    message: (text) => progress.message(text),
  });
  let interrupted = false;
  const removeHandler = io.onInterrupt(() => {
    interrupted = true;
    run.requestStop('interrupted (SIGINT)');
    progress.message(
      'interrupt: finishing the current step, then saving a checkpoint (Ctrl-C again to abort)',
    );
    removeHandler();
  });
  let summary: TrainingSummary;
  try {
    summary = await run.run();
  } finally {
    removeHandler();
    await attached.close();
    progress.close();
  }
  // The final weights always get a checkpoint, so eval, chat and resume see them.
  const finalCheckpoint = path.join(
    paths.checkpoints,
    `step-${String(trainer.currentStep).padStart(6, '0')}`,
  );
  if (trainer.currentStep > 0 && !existsSync(finalCheckpoint)) await run.saveCheckpoint();
  const evaluationBefore =
    evaluationNumbers(summary.firstEvaluation) ?? (await previousFirstEvaluation(paths));
  const evaluationAfter = evaluationNumbers(summary.lastEvaluation);
  const file: RunSummaryFile = {
    status: interrupted ? 'interrupted' : 'completed',
    stepsCompleted: summary.stepsCompleted,
    seconds: (performance.now() - started) / 1000,
    ...(evaluationBefore ? { evaluationBefore } : {}),
    ...(evaluationAfter ? { evaluationAfter } : {}),
    ...(evaluationBefore && evaluationAfter
      ? {
          rewardGain: evaluationAfter.rewardMean - evaluationBefore.rewardMean,
          successRateGain: evaluationAfter.successRate - evaluationBefore.successRate,
        }
      : {}),
    generations: summary.generations.length,
    systemPrompt: summary.systemPrompt ?? null,
  };
  await writeJsonAtomic(paths.summary, file);
  const reportPath = await writeRunReport(paths.root);
  if (command.json) {
    io.stdout.write(
      `${JSON.stringify({ type: 'summary', runDirectory: paths.root, report: reportPath, ...file })}\n`,
    );
  } else {
    const lines = [
      `${file.status === 'completed' ? 'done' : 'interrupted'}: ${file.stepsCompleted}/${config.trainer.steps} steps in ${formatDuration(file.seconds)}`,
    ];
    if (evaluationBefore && evaluationAfter) {
      const sign = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(3)}`;
      lines.push(
        `held-out reward ${evaluationBefore.rewardMean.toFixed(3)} -> ${evaluationAfter.rewardMean.toFixed(3)} (${sign(file.rewardGain!)}), success rate ${evaluationBefore.successRate.toFixed(2)} -> ${evaluationAfter.successRate.toFixed(2)} (${sign(file.successRateGain!)})`,
      );
    }
    lines.push(`run directory ${paths.root}`, `report ${reportPath}`);
    io.stderr.write(`${lines.join('\n')}\n`);
  }
  return interrupted ? exitCodes.interrupted : exitCodes.ok;
}
