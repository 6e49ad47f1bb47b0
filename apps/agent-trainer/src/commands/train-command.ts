import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Scenario } from '@cohort/core';
import type { SupportDeskUserCounts } from '@cohort/environments';
import { LlamaPolicy } from '@cohort/tfjs';
import { saveLoraAdapter } from '@cohort/tfjs/node';
import {
  type AdapterPopulation,
  CallTimeoutError,
  createPromptEvolution,
  evaluationGain,
  type Interval,
  type MetricsRecord,
  type PopulationAdoptionSummary,
  parseMetricsLog,
  type RaisedDegenerationFlag,
  removeStaleTemporaries,
  type ScenarioResult,
  type StratifiedEvaluationMetrics,
  TrainingRun,
  type TrainingRunEvent,
  type TrainingSummary,
} from '@cohort/trainer';
import { OnnxSampledPolicy } from '@cohort/transformers/onnx';
import {
  type AppConfig,
  defaultAppConfigInput,
  readConfigFile,
  resolveAppConfig,
} from '../app-config';
import type { CliIo } from '../cli-io';
import type { TrainCommand } from '../command-line';
import { batchArithmetic, configDifferences } from '../dry-run';
import { engineWarnings, type ResolvedEngines, resolvedEngines } from '../engine-setup';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { formatDuration, ProgressDisplay } from '../progress';
import { supportPromptPhrases } from '../prompt-phrases';
import {
  DeferredRolloutTransport,
  type RolloutWorkers,
  startRolloutWorkers,
} from '../rollout-workers';
import { assertRunModulesTrusted, readRunConfig } from '../run-config';
import { claimRunDirectory, type RunPaths, runPaths, writeJsonAtomic } from '../run-directory';
import {
  createRunPopulation,
  populationGenerationLine,
  populationSummaryLines,
  populationWarnings,
} from '../run-population';
import { checkRunFits } from '../run-preflight';
import { supportDeskUserSummaryLines } from '../support-desk-user-setup';
import {
  createTrainer,
  type HumanFeedbackLink,
  humanFeedbackRewardName,
  type TrainerParts,
} from '../training-setup';
import { writeRunReport } from './report-command';
import { trainCandidateSelector } from './train-candidate-selector';
import { attachTrainingConsole } from './training-console';

/** What both `train` and `gateway` read to resolve a run's config. */
export type RunConfigFlags = Pick<
  TrainCommand,
  'config' | 'preset' | 'steps' | 'model' | 'resume' | 'trustRunModules'
> & { environment?: string | undefined };

/** The run's config: from the run directory with `--resume`, else the file (or the default run) with the flags over it. */
export async function resolveConfig(command: RunConfigFlags): Promise<AppConfig> {
  const overrides = {
    ...(command.preset ? { preset: command.preset } : {}),
    ...(command.steps !== undefined ? { steps: command.steps } : {}),
    ...(command.environment ? { environmentModule: command.environment } : {}),
    ...(command.model ? { model: command.model } : {}),
  };
  if (command.resume) {
    const config = await readRunConfig(command.resume, overrides);
    assertRunModulesTrusted({
      config,
      runDirectory: command.resume,
      trusted: command.trustRunModules,
      namedOnCommandLine: overrides.environmentModule
        ? [path.resolve(overrides.environmentModule)]
        : [],
    });
    return config;
  }
  const input = command.config ? await readConfigFile(command.config) : defaultAppConfigInput;
  return resolveAppConfig(input, overrides);
}

/** An evaluation's figures in `summary.json`. */
export interface EvaluationSummary {
  step: number;
  rewardMean: number;
  successRate: number;
  episodes: number;
  rewardInterval?: Interval;
  successInterval?: Interval;
  byCategory?: StratifiedEvaluationMetrics['byCategory'];
  perScenario?: ScenarioResult[];
  /** Tool use over every evaluated episode (tool environments). */
  toolCalls?: StratifiedEvaluationMetrics['toolCalls'];
  /** Order ids written by the agent that the task's database does not hold, summed over every evaluated episode (support desk). */
  inventedOrderIds?: number;
}

/** What `summary.json` holds. */
export interface RunSummaryFile {
  status: 'completed' | 'interrupted' | 'failed';
  stepsCompleted: number;
  seconds: number;
  evaluationBefore?: EvaluationSummary;
  evaluationAfter?: EvaluationSummary;
  /** Evaluation reward after minus before (paired over the same scenarios), with its 95% interval. */
  rewardGain?: number;
  rewardGainInterval?: Interval;
  successRateGain?: number;
  successRateGainInterval?: Interval;
  generations: number;
  systemPrompt: string | null;
  /** Signs of a degenerate policy raised during the run (one reply repeated, tool calls dropped, success falling while reward rises). */
  degenerationFlags: RaisedDegenerationFlag[];
  /** A population run: what evolution adopted (copies, injections, adoptions, prompt adoptions) and the deployed member. */
  population?: PopulationAdoptionSummary;
  /** The support desk's LLM customer: its answers, fallbacks to the scripted customer and timeouts, in this process. */
  userSimulator?: SupportDeskUserCounts;
  /** Why a failed run stopped. */
  failure?: string;
  /** The runtimes that sampled, scored the reference and learned (a tfjs-lm policy). */
  engines?: ResolvedEngines;
  /**
   * The largest resident memory of this process (`process.resourceUsage().maxRSS`),
   * in MB: the whole run's peak unless it was resumed (then this process's).
   */
  peakRssMegabytes: number;
}

/** The console line that names a run's engines. */
export function enginesLine(engines: ResolvedEngines): string {
  return `engines: sampler ${engines.sampler}, reference ${engines.reference}, learner ${engines.learner}`;
}

function evaluationSummary(
  metrics: Partial<StratifiedEvaluationMetrics> | MetricsRecord | undefined,
): EvaluationSummary | undefined {
  if (!metrics || typeof metrics.rewardMean !== 'number') return undefined;
  const stratified = metrics as Partial<StratifiedEvaluationMetrics>;
  return {
    step: metrics.step as number,
    rewardMean: metrics.rewardMean,
    successRate: metrics.successRate as number,
    episodes: metrics.episodes as number,
    ...(stratified.rewardInterval ? { rewardInterval: stratified.rewardInterval } : {}),
    ...(stratified.successInterval ? { successInterval: stratified.successInterval } : {}),
    ...(stratified.byCategory ? { byCategory: stratified.byCategory } : {}),
    ...(stratified.perScenario ? { perScenario: stratified.perScenario } : {}),
    ...(stratified.toolCalls ? { toolCalls: stratified.toolCalls } : {}),
    ...(typeof stratified.counts?.inventedOrderIds === 'number'
      ? { inventedOrderIds: stratified.counts.inventedOrderIds }
      : {}),
  };
}

/** The first and last evaluations of a run, from its metrics log (for a resumed run, the run's own record). */
async function loggedEvaluations(
  paths: RunPaths,
): Promise<{ first?: EvaluationSummary; last?: EvaluationSummary }> {
  try {
    const records = parseMetricsLog(await readFile(paths.metrics, 'utf8')).filter(
      (record) => record.kind === 'evaluation',
    );
    const first = evaluationSummary(records[0]);
    const last = evaluationSummary(records.at(-1));
    return { ...(first ? { first } : {}), ...(last ? { last } : {}) };
  } catch {
    return {};
  }
}

function sign(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function interval(range: Interval | undefined, digits: number): string {
  return range ? ` [${sign(range[0], digits)}, ${sign(range[1], digits)}]` : '';
}

function plainInterval(range: Interval | undefined, digits: number): string {
  return range ? ` [${range[0].toFixed(digits)}, ${range[1].toFixed(digits)}]` : '';
}

/** The summary lines printed at the end of `train`: overall, the gain with its interval, per category. */
export function summaryLines(file: RunSummaryFile): string[] {
  const before = file.evaluationBefore;
  const after = file.evaluationAfter;
  const flagLines = (file.degenerationFlags ?? []).map(
    (flag) => `warning: degenerate policy? ${flag.message} (from step ${flag.firstStep})`,
  );
  const population = file.population ? populationSummaryLines(file.population) : [];
  const customer = file.userSimulator ? supportDeskUserSummaryLines(file.userSimulator) : [];
  if (!before || !after) return [...customer, ...population, ...flagLines];
  const lines = [
    `held-out reward ${before.rewardMean.toFixed(3)}${plainInterval(before.rewardInterval, 3)} -> ${after.rewardMean.toFixed(3)}${plainInterval(after.rewardInterval, 3)}, gain ${sign(file.rewardGain ?? after.rewardMean - before.rewardMean, 3)}${interval(file.rewardGainInterval, 3)} (95% intervals, ${after.episodes} episodes)`,
    `success rate ${before.successRate.toFixed(2)}${plainInterval(before.successInterval, 2)} -> ${after.successRate.toFixed(2)}${plainInterval(after.successInterval, 2)}, gain ${sign(file.successRateGain ?? after.successRate - before.successRate, 2)}${interval(file.successRateGainInterval, 2)}`,
  ];
  for (const [category, end] of Object.entries(after.byCategory ?? {})) {
    const start = before.byCategory?.[category];
    lines.push(
      `  ${category.padEnd(10)} reward ${start ? `${start.rewardMean.toFixed(3)} -> ` : ''}${end.rewardMean.toFixed(3)}${plainInterval(end.rewardInterval, 3)}  success ${start ? `${start.successRate.toFixed(2)} -> ` : ''}${end.successRate.toFixed(2)}  (${end.scenarios} scenarios)`,
    );
  }
  if (after.toolCalls) {
    lines.push(
      `tool calls per episode ${after.toolCalls.callsPerEpisode.toFixed(2)}, failed ${(after.toolCalls.errorRate * 100).toFixed(0)}%`,
    );
  }
  if (after.inventedOrderIds !== undefined) {
    lines.push(
      `invented order ids over all ${after.episodes} held-out episodes: ${after.inventedOrderIds}`,
    );
  }
  return [...lines, ...customer, ...population, ...flagLines];
}

/**
 * `agent-trainer train`: resolves and validates the config and builds the
 * whole trainer (model, environment, rewards, modules) before anything is
 * written, so every refusal exits 2 with nothing created; then claims the run
 * directory (atomic `mkdir` and a lock), trains with live progress, and writes
 * `summary.json` and `report.html`. Ctrl-C stops after the current step,
 * saves a checkpoint, the summary and the report, and exits 130; a user call
 * that never settles fails the run (exit 1) naming the module and function.
 */
export async function trainCommand(command: TrainCommand, io: CliIo): Promise<ExitCode> {
  const config = await resolveConfig(command);
  const asksPerson = config.rewards.some((reward) => reward.type === 'human-feedback');
  if (asksPerson && !command.console && !command.dryRun) {
    throw new UsageError(
      'reward "human-feedback" asks a person on the console\'s feedback page: add --console (and open the URL it prints)',
    );
  }
  if (config.population && ((command.workers ?? 0) > 0 || command.nats !== undefined)) {
    throw new UsageError(
      'a population (config population:) trains its members in turn in this process; rollouts on workers (--workers, --nats) do not run populations yet: leave those flags out',
    );
  }
  if (config.policy.type === 'candidate-selector') {
    return trainCandidateSelector({ command, io, config });
  }
  const humanFeedback: HumanFeedbackLink = {};
  let parts: TrainerParts | undefined;
  // The workers start once the run directory holds the config they load; the trainer is built first.
  const deferred =
    !command.dryRun && ((command.workers ?? 0) > 0 || command.nats !== undefined)
      ? new DeferredRolloutTransport()
      : undefined;
  const trainer = await createTrainer({
    config,
    humanFeedback,
    ...(deferred
      ? { rollouts: { transport: deferred, mode: command.rollouts ?? 'synchronous' } }
      : {}),
    ...(command.verbose ? { log: (line: string) => io.stderr.write(`${line}\n`) } : {}),
    onParts: (built) => {
      parts = built;
    },
  });
  const population = await createRunPopulation({ config, trainer, parts: parts! });
  const warnings = [
    ...engineWarnings(config),
    ...populationWarnings(config, trainer),
    ...(await checkRunFits({ config, trainer, parts: parts! })),
    ...(parts!.customer?.user && ((command.workers ?? 0) > 0 || command.nats !== undefined)
      ? [
          "the LLM customer answers on the rollout workers too, and each worker loads its own; the summary counts only this process's answers (held-out evaluation)",
        ]
      : []),
  ];
  const human = io.stderr;
  if (command.dryRun) {
    const differences = configDifferences(config);
    const lines = [
      `config ${command.resume ? runPaths(command.resume).config : (command.config ?? '(the default run)')} is valid; preset ${config.preset}`,
      differences.length
        ? `settings that differ from the preset's default run:\n${differences.map((line) => `  ${line}`).join('\n')}`
        : "no setting differs from the preset's default run",
      ...batchArithmetic(config, parts!.evalScenarios),
      ...(parts!.customer ? [parts!.customer.description] : []),
      ...warnings.map((warning) => `warning: ${warning}`),
      'dry run: nothing was created',
    ];
    (command.json ? io.stdout : human).write(
      command.json
        ? `${JSON.stringify({ type: 'dry-run', preset: config.preset, differences, batch: batchArithmetic(config, parts!.evalScenarios), ...(parts!.customer ? { customer: parts!.customer.description } : {}), warnings })}\n`
        : `${lines.join('\n')}\n`,
    );
    return exitCodes.ok;
  }
  const { paths, lock } = await claimRunDirectory(command, config.name);
  try {
    return await trainInDirectory({
      command,
      io,
      config,
      trainer,
      parts: parts!,
      paths,
      warnings,
      humanFeedback: asksPerson ? humanFeedback : undefined,
      ...(deferred ? { deferred } : {}),
      ...(population ? { population } : {}),
    });
  } finally {
    population?.dispose();
    await lock.release();
  }
}

/**
 * Writes a LoRA run's adapters in the PEFT layout to `adapter/` (what PEFT,
 * vLLM and `agent-trainer export` read); returns the folder, or undefined for
 * a run without LoRA.
 */
async function saveRunAdapter(
  trainer: Awaited<ReturnType<typeof createTrainer>>,
  config: AppConfig,
  paths: RunPaths,
): Promise<string | undefined> {
  // With the ONNX sampler (engine.sampler) the trainer's policy wraps the tfjs policy it trains.
  const policy =
    trainer.policy instanceof OnnxSampledPolicy ? trainer.policy.policy : trainer.policy;
  if (!(policy instanceof LlamaPolicy) || policy.model.lora === undefined) return undefined;
  const base = config.policy.type === 'tfjs-lm' ? config.policy.modelDirectory : undefined;
  await saveLoraAdapter(paths.adapter, policy.model, {
    ...(base !== undefined ? { baseModelNameOrPath: path.resolve(base) } : {}),
  });
  return paths.adapter;
}

/** Where the rollouts of a run come from when not from the trainer itself (the gateway). */
export interface ExternalRollouts {
  /** Lines printed (and a JSON record emitted) once the run directory is announced. */
  announce(progress: ProgressDisplay): void;
  /** Why prompt evolution is off for this run. */
  evolutionOff: string;
}

/**
 * Trains in a claimed run directory with live progress, then writes the
 * final checkpoint, `summary.json` and `report.html`: the body of `train`,
 * and of `gateway` with `external` rollouts.
 */
export async function trainInDirectory(options: {
  command: Pick<TrainCommand, 'resume' | 'json' | 'verbose'> &
    Partial<Pick<TrainCommand, 'console' | 'workers' | 'nats'>>;
  io: CliIo;
  config: AppConfig;
  trainer: Awaited<ReturnType<typeof createTrainer>>;
  parts: TrainerParts;
  paths: RunPaths;
  warnings: string[];
  humanFeedback: HumanFeedbackLink | undefined;
  deferred?: DeferredRolloutTransport;
  population?: AdapterPopulation<Scenario>;
  external?: ExternalRollouts;
}): Promise<ExitCode> {
  const { command, io, config, trainer, parts, paths, population } = options;
  const engines = resolvedEngines(trainer, config);
  if (!command.resume) {
    // A fresh run in a --run-dir that a killed run left without a config: clear its debris.
    await removeStaleTemporaries(paths.root);
    // The engines as resolved (defaults and fallbacks applied), so the file says what ran; a resume
    // that reads them back resolves to the same engines.
    await writeJsonAtomic(
      paths.config,
      engines ? { ...config, engine: { ...config.engine, ...engines } } : config,
    );
  }
  const started = performance.now();
  const progress = new ProgressDisplay({
    totalSteps: config.trainer.steps,
    startStep: 0,
    human: io.stderr,
    machine: io.stdout,
    json: command.json,
  });
  for (const warning of options.warnings) {
    progress.message(`warning: ${warning}`);
    progress.emitJson({ type: 'warning', step: 0, message: warning });
  }
  let failure: string | undefined;
  let run: TrainingRun<Scenario> | undefined;
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
        progress.message(
          `reward failure (step ${event.step}): reward "${event.failure.rewardName}" on ${event.failure.trajectoryId}: ${event.failure.message}`,
        );
        progress.emitJson({ type: 'reward-failure', step: event.step, ...event.failure });
        // A reward that never settles is a broken module, not a bad sample: end the run.
        if (/did not settle within/.test(event.failure.message) && failure === undefined) {
          failure = event.failure.message;
          run?.requestStop(`a reward timed out: ${event.failure.message}`);
        }
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
      case 'population':
        progress.message(populationGenerationLine(event.record));
        progress.emitJson({ type: 'population', step: event.step, ...event.record });
        break;
      case 'stopped':
        progress.message(`stopped at step ${event.step}: ${event.reason}`);
        break;
      default:
        break;
    }
  };
  const evolution =
    trainer.systemPrompt && !options.external
      ? await createPromptEvolution({
          trainer,
          initialPrompts: config.evolution?.prompts ?? [],
          phrases: supportPromptPhrases,
        })
      : null;
  if (!evolution && config.trainer.evolution.everyEpisodes > 0) {
    progress.message(
      `prompt evolution is off: ${options.external?.evolutionOff ?? 'the environment has no system prompt to evolve'}`,
    );
  }
  run = new TrainingRun({
    trainer,
    runDirectory: paths.root,
    steps: config.trainer.steps,
    onEvent,
    ...(evolution ? { evolution } : {}),
    ...(population ? { population } : {}),
    ...(parts.evalScenarios.length > 0
      ? {
          evaluation: {
            environment: parts.environment,
            // Held-out evaluation is checked by code: a person is asked only about training groups.
            rewards: parts.rewards.filter(({ reward }) => reward.name !== humanFeedbackRewardName),
            scenarios: parts.evalScenarios,
            ...(parts.categoryOf ? { categoryOf: parts.categoryOf } : {}),
            ...(parts.episodeCounts ? { episodeCounts: parts.episodeCounts } : {}),
          },
        }
      : {}),
  });
  let workers: RolloutWorkers | undefined;
  if (options.deferred) {
    workers = await startRolloutWorkers({
      config,
      runDirectory: paths.root,
      workers: command.workers ?? 0,
      ...(command.nats ? { nats: command.nats } : {}),
      log: (line) => progress.message(line),
    });
    options.deferred.attach(workers.transport);
    progress.message(workers.description);
    if (workers.warning) {
      progress.message(`warning: ${workers.warning}`);
      progress.emitJson({ type: 'warning', step: 0, message: workers.warning });
    }
  }
  try {
    if (command.resume) {
      const from = await run.resume();
      progress.message(`resuming ${paths.root} from step ${from}`);
    } else {
      progress.message(`run directory ${paths.root}`);
    }
    if (engines) progress.message(enginesLine(engines));
    options.external?.announce(progress);
    const attached = await attachTrainingConsole({
      trainer,
      ...(population ? { rolloutEvents: population } : {}),
      runDirectory: paths.root,
      ...(command.console ? { console: command.console } : {}),
      ...(options.humanFeedback
        ? { humanFeedback: { link: options.humanFeedback, groupSize: config.trainer.groupSize } }
        : {}),
      io,
      message: (text) => progress.message(text),
    });
    let interrupted = false;
    const removeHandler = io.onInterrupt(() => {
      interrupted = true;
      run?.requestStop('interrupted (SIGINT)');
      progress.message(
        'interrupt: finishing the current step, then saving a checkpoint (Ctrl-C again to abort)',
      );
      removeHandler();
    });
    let summary: TrainingSummary;
    try {
      summary = await run.run();
    } catch (error) {
      if (CallTimeoutError.isInstance(error)) failure = error.message;
      throw error;
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
    const adapter = await saveRunAdapter(trainer, config, paths);
    const logged = await loggedEvaluations(paths);
    const evaluationBefore = evaluationSummary(summary.firstEvaluation) ?? logged.first;
    // A resumed run that had nothing left to do evaluated nothing: its last evaluation is in the log.
    const evaluationAfter = evaluationSummary(summary.lastEvaluation) ?? logged.last;
    const gain =
      evaluationBefore?.perScenario && evaluationAfter?.perScenario
        ? evaluationGain(
            evaluationBefore.perScenario,
            evaluationAfter.perScenario,
            config.trainer.evaluation.seed,
          )
        : undefined;
    const file: RunSummaryFile = {
      status: failure ? 'failed' : interrupted ? 'interrupted' : 'completed',
      stepsCompleted: summary.stepsCompleted,
      seconds: (performance.now() - started) / 1000,
      ...(evaluationBefore ? { evaluationBefore } : {}),
      ...(evaluationAfter ? { evaluationAfter } : {}),
      ...(evaluationBefore && evaluationAfter
        ? {
            rewardGain: gain?.reward ?? evaluationAfter.rewardMean - evaluationBefore.rewardMean,
            successRateGain:
              gain?.successRate ?? evaluationAfter.successRate - evaluationBefore.successRate,
            ...(gain
              ? {
                  rewardGainInterval: gain.rewardInterval,
                  successRateGainInterval: gain.successInterval,
                }
              : {}),
          }
        : {}),
      generations: summary.generations.length,
      systemPrompt: summary.systemPrompt ?? null,
      degenerationFlags: summary.degenerationFlags,
      ...(summary.population ? { population: summary.population } : {}),
      ...(parts.customer?.user ? { userSimulator: parts.customer.user.counts() } : {}),
      ...(failure ? { failure } : {}),
      ...(engines ? { engines } : {}),
      peakRssMegabytes: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    await writeJsonAtomic(paths.summary, file);
    const reportPath = await writeRunReport(paths.root);
    if (command.json) {
      io.stdout.write(
        `${JSON.stringify({ type: 'summary', runDirectory: paths.root, report: reportPath, ...(adapter ? { adapter } : {}), ...file })}\n`,
      );
    } else {
      const head =
        file.status === 'completed' ? 'done' : file.status === 'failed' ? 'failed' : 'interrupted';
      const lines = [
        `${head}: ${file.stepsCompleted}/${config.trainer.steps} steps in ${formatDuration(file.seconds)}, peak memory ${file.peakRssMegabytes} MB`,
        ...summaryLines(file),
      ];
      if (failure) lines.push(`failure: ${failure}`);
      if (engines) lines.push(enginesLine(engines));
      lines.push(`run directory ${paths.root}`, `report ${reportPath}`);
      if (adapter) lines.push(`LoRA adapter (PEFT layout) ${adapter}`);
      io.stderr.write(`${lines.join('\n')}\n`);
    }
    if (failure) return exitCodes.failure;
    return interrupted ? exitCodes.interrupted : exitCodes.ok;
  } finally {
    await workers?.stop();
  }
}
