import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, InvalidArgumentError, Random } from '@cohort/core';
import type { OptimizerState, WeightMap } from '@cohort/tfjs';
import { loadCheckpoint, saveCheckpoint } from '@cohort/tfjs/node';
import type { CandidateQuery, CandidateRewardSource } from './candidate-reward';
import type {
  TrainableCandidateActor,
  TrainableRewardCritic,
} from './candidate-selector-trainable';
import type {
  CandidateEvaluation,
  CandidateSelectorState,
  CandidateSelectorTrainer,
} from './candidate-selector-trainer';
import type { ClippedCandidateUpdateRuleState } from './candidate-selector-update-rule';
import { MetricsLog, type MetricsRecord } from './metrics-log';
import {
  decodeOptimizerState,
  type EncodedOptimizerState,
  encodeOptimizerState,
} from './optimizer-state-codec';
import { listStepCheckpoints, removeStaleTemporaries, truncateJsonLines } from './run-files';

/** The trainer a {@link CandidateSelectorRun} drives: the MLP actor and critic, or any trainable pair. */
export type RunnableCandidateSelector = CandidateSelectorTrainer<
  TrainableCandidateActor,
  TrainableRewardCritic
>;

/** Options of {@link CandidateSelectorRun}. */
export interface CandidateSelectorRunOptions {
  trainer: RunnableCandidateSelector;
  /** Where `metrics.jsonl` and `checkpoints/step-NNNNNN` go. */
  runDirectory: string;
  /** Steps to train: each answers `queriesPerStep` queries and ends with one update. */
  steps: number;
  /** M: queries per step, so the actor-critic update runs every M queries. */
  queriesPerStep: number;
  /** The training queries, taken in a seeded order that is reshuffled after every pass. */
  trainQueries: readonly CandidateQuery[];
  /** Seed of the query order (the trainer has its own for the choices). */
  seed: number;
  /**
   * Held-out evaluation, before the first step, every `everySteps` steps and after the last:
   * greedy choices scored by `reward` on every candidate (a function: a person is not asked).
   */
  evaluation?: {
    queries: readonly CandidateQuery[];
    reward: CandidateRewardSource;
    /** 0: only before the first step and after the last. */
    everySteps: number;
    seed: number;
  };
  checkpoint: { everySteps: number; keep: number };
  onEvent?: (event: CandidateSelectorRunEvent) => void;
}

/** What a {@link CandidateSelectorRun} reports as it goes. */
export type CandidateSelectorRunEvent =
  | { type: 'step'; metrics: MetricsRecord }
  | { type: 'evaluation'; metrics: MetricsRecord }
  | { type: 'checkpoint'; step: number; directory: string }
  | { type: 'stopped'; step: number; reason: string };

/** What {@link CandidateSelectorRun.run} returns. */
export interface CandidateSelectorRunSummary {
  stepsCompleted: number;
  firstEvaluation?: CandidateEvaluation & { step: number };
  lastEvaluation?: CandidateEvaluation & { step: number };
}

const actorPrefix = 'actor.';
const criticPrefix = 'critic.';
const initialActorPrefix = 'initial-actor.';

function prefixed(weights: WeightMap | undefined, prefix: string): WeightMap {
  return Object.fromEntries(
    Object.entries(weights ?? {}).map(([name, tensor]) => [`${prefix}${name}`, tensor]),
  );
}

function withPrefix(weights: WeightMap, prefix: string): WeightMap | undefined {
  const part = Object.fromEntries(
    Object.entries(weights)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, tensor]) => [name.slice(prefix.length), tensor]),
  );
  return Object.keys(part).length === 0 ? undefined : part;
}

function encodeOptimizer(state: unknown): EncodedOptimizerState | undefined {
  return state === undefined ? undefined : encodeOptimizerState(state as OptimizerState);
}

/**
 * A training run of the candidate selector in a run directory, as
 * `TrainingRun` is for the token-level policy: step `s` answers the next
 * `queriesPerStep` (M) training queries (the trainer samples its choices and
 * awaits their rewards, from a function or a person) and ends with the
 * actor-critic update on whatever was rewarded, so the update runs every M
 * queries and no rewarded decision waits across a checkpoint. Each step and
 * evaluation is appended to `metrics.jsonl` (kind `step` / `evaluation`, as
 * the console and the report read them); checkpoints hold the actor, the
 * critic, the update rule's frozen initial actor and optimizer moments, the
 * trainer's random stream and counters, so {@link resume} continues exactly:
 * a run stopped and resumed ends with the same weights as one that never
 * stopped.
 *
 * @example
 * ```ts
 * const run = new CandidateSelectorRun({ trainer, runDirectory: 'runs/selector', steps: 10,
 *   queriesPerStep: 8, trainQueries, seed: 0, checkpoint: { everySteps: 5, keep: 2 } });
 * await run.resume();
 * const summary = await run.run();
 * ```
 */
export class CandidateSelectorRun {
  readonly options: CandidateSelectorRunOptions;
  private readonly metrics: MetricsLog;
  private step = 0;
  private stopReason: string | undefined;

  constructor(options: CandidateSelectorRunOptions) {
    for (const name of ['steps', 'queriesPerStep'] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 1) {
        throw new InvalidArgumentError({
          argument: name,
          value: options[name],
          message: 'must be a positive integer',
        });
      }
    }
    if (!Array.isArray(options.trainQueries) || options.trainQueries.length === 0) {
      throw new InvalidArgumentError({
        argument: 'trainQueries',
        value: options.trainQueries,
        message: 'must hold at least one query',
      });
    }
    if (options.evaluation && options.evaluation.queries.length === 0) {
      throw new InvalidArgumentError({
        argument: 'evaluation.queries',
        value: [],
        message: 'must hold at least one query (or leave evaluation out)',
      });
    }
    this.options = options;
    this.metrics = new MetricsLog(path.join(options.runDirectory, 'metrics.jsonl'));
  }

  /** Steps completed so far (after {@link resume}, the checkpoint's). */
  get currentStep(): number {
    return this.step;
  }

  get checkpointDirectory(): string {
    return path.join(this.options.runDirectory, 'checkpoints');
  }

  /** Asks the run to stop after the current step; it then saves a checkpoint. */
  requestStop(reason = 'stop requested'): void {
    this.stopReason ??= reason;
  }

  /**
   * The M queries of step `step` (from 1): the training queries in a seeded
   * order, reshuffled for each pass, so a resumed run asks what the
   * uninterrupted run would have asked.
   */
  queriesOfStep(step: number): CandidateQuery[] {
    const { trainQueries, queriesPerStep, seed } = this.options;
    const count = trainQueries.length;
    const queries: CandidateQuery[] = [];
    let pass = -1;
    let order: number[] = [];
    for (let index = 0; index < queriesPerStep; index++) {
      const position = (step - 1) * queriesPerStep + index;
      const passOfPosition = Math.floor(position / count);
      if (passOfPosition !== pass) {
        pass = passOfPosition;
        order = new Random(seed)
          .fork(pass)
          .shuffle(Array.from({ length: count }, (_, item) => item));
      }
      queries.push(trainQueries[order[position % count]!]!);
    }
    return queries;
  }

  private emit(event: CandidateSelectorRunEvent): void {
    this.options.onEvent?.(event);
  }

  private async evaluate(): Promise<(CandidateEvaluation & { step: number }) | undefined> {
    const { evaluation } = this.options;
    if (!evaluation) return undefined;
    const result = await this.options.trainer.evaluate(evaluation.queries, {
      seed: evaluation.seed,
      reward: evaluation.reward,
    });
    const record: MetricsRecord = {
      kind: 'evaluation',
      step: this.step,
      time: new Date().toISOString(),
      rewardMean: result.meanReward,
      bestChoiceRate: result.bestChoiceRate,
      chanceRewardMean: result.chanceMeanReward,
      chanceBestChoiceRate: result.chanceBestChoiceRate,
      episodes: result.evaluated,
      skipped: result.skipped,
    };
    await this.metrics.append(record);
    this.emit({ type: 'evaluation', metrics: record });
    return { ...result, step: this.step };
  }

  /** One step: M queries answered and rewarded, then the update. */
  private async trainStep(): Promise<MetricsRecord> {
    const { trainer } = this.options;
    const queries = this.queriesOfStep(this.step + 1);
    const summary = await trainer.step(queries);
    const updates = [...summary.updates];
    const last = await trainer.flush();
    if (last !== undefined) updates.push(last);
    this.step++;
    const applied = updates.filter((update) => update.applied);
    const latest = updates.at(-1);
    const record: MetricsRecord = {
      kind: 'step',
      step: this.step,
      time: new Date().toISOString(),
      rewardMean: summary.meanReward,
      decisions: summary.decisions,
      skipped: summary.skipped,
      updatesApplied: applied.length,
      actorUpdates: trainer.updates,
      ...(latest
        ? {
            actorLoss: latest.actorLoss,
            criticLoss: latest.criticLoss,
            ...Object.fromEntries(
              Object.entries(latest.metrics).filter(([name]) => name !== 'meanReward'),
            ),
          }
        : {}),
    };
    await this.metrics.append(record);
    this.emit({ type: 'step', metrics: record });
    return record;
  }

  /**
   * Trains until `steps` (from where {@link resume} left it), evaluating and
   * checkpointing as configured; a stop request ends it after the current
   * step, with a checkpoint.
   */
  async run(): Promise<CandidateSelectorRunSummary> {
    const { steps, checkpoint, evaluation } = this.options;
    const summary: CandidateSelectorRunSummary = { stepsCompleted: 0 };
    if (this.step === 0) {
      const first = await this.evaluate();
      if (first) summary.firstEvaluation = first;
    }
    let lastSaved = this.step;
    let lastEvaluated = -1;
    while (this.step < steps) {
      if (this.stopReason !== undefined) {
        this.emit({ type: 'stopped', step: this.step, reason: this.stopReason });
        break;
      }
      await this.trainStep();
      summary.stepsCompleted++;
      if (evaluation && evaluation.everySteps > 0 && this.step % evaluation.everySteps === 0) {
        const result = await this.evaluate();
        if (result) summary.lastEvaluation = result;
        lastEvaluated = this.step;
      }
      if (checkpoint.everySteps > 0 && this.step % checkpoint.everySteps === 0) {
        await this.saveCheckpoint();
        lastSaved = this.step;
      }
    }
    if (this.step >= steps && lastEvaluated !== this.step && summary.stepsCompleted > 0) {
      const result = await this.evaluate();
      if (result) summary.lastEvaluation = result;
    }
    if (lastSaved !== this.step) await this.saveCheckpoint();
    return summary;
  }

  /** Saves the whole state under `checkpoints/step-NNNNNN` and keeps the newest `checkpoint.keep`. */
  async saveCheckpoint(): Promise<string> {
    const state = this.options.trainer.getState();
    const rule = state.updateRule as ClippedCandidateUpdateRuleState | undefined;
    const directory = path.join(
      this.checkpointDirectory,
      `step-${String(this.step).padStart(6, '0')}`,
    );
    const actorOptimizer = encodeOptimizer(rule?.actorOptimizer);
    const criticOptimizer = encodeOptimizer(rule?.criticOptimizer);
    await saveCheckpoint(directory, {
      weights: {
        ...prefixed(state.actor, actorPrefix),
        ...prefixed(state.critic, criticPrefix),
        ...prefixed(rule?.initialActor, initialActorPrefix),
      },
      rngState: state.random,
      metadata: {
        kind: 'candidate-selector',
        step: this.step,
        buffer: state.buffer,
        attemptedUpdates: state.attemptedUpdates,
        appliedUpdates: state.appliedUpdates,
        groupCounter: state.groupCounter,
        ...(rule
          ? {
              updateRule: {
                updates: rule.updates,
                ...(actorOptimizer ? { actorOptimizer } : {}),
                ...(criticOptimizer ? { criticOptimizer } : {}),
              },
            }
          : {}),
      },
    });
    const saved = await this.listCheckpoints();
    for (const old of saved.slice(0, Math.max(0, saved.length - this.options.checkpoint.keep))) {
      await rm(old.directory, { recursive: true, force: true });
    }
    this.emit({ type: 'checkpoint', step: this.step, directory });
    return directory;
  }

  private listCheckpoints(): Promise<{ step: number; directory: string }[]> {
    return listStepCheckpoints(this.checkpointDirectory);
  }

  /**
   * Loads the newest checkpoint (after clearing what a crash left
   * half-written) into the trainer, its actor, critic and a fresh update rule,
   * and drops the `metrics.jsonl` lines written after it (all of them when
   * there is none). Returns the step it resumes from (0 when none).
   * @throws CheckpointError when the checkpoint is not a candidate selector's or does not fit the actor.
   */
  async resume(): Promise<number> {
    await removeStaleTemporaries(this.options.runDirectory);
    const latest = (await this.listCheckpoints()).at(-1);
    if (!latest) {
      await truncateJsonLines(this.metrics.filePath, () => false);
      return 0;
    }
    const contents = await loadCheckpoint(latest.directory);
    const metadata = contents.metadata ?? {};
    if (metadata.kind !== 'candidate-selector') {
      throw new CheckpointError({
        path: latest.directory,
        message: `is not a candidate selector's checkpoint (kind ${JSON.stringify(metadata.kind)})`,
      });
    }
    const { trainer } = this.options;
    const current = trainer.getState();
    const actor = withPrefix(contents.weights, actorPrefix);
    for (const [name, tensor] of Object.entries(current.actor ?? {})) {
      const saved = actor?.[name];
      if (!saved || saved.shape.join('x') !== tensor.shape.join('x')) {
        throw new CheckpointError({
          path: latest.directory,
          message: `actor weight ${name} ${saved ? `has shape [${saved.shape}]` : 'is missing'}; the actor expects [${tensor.shape}]`,
        });
      }
    }
    const saved = metadata.updateRule as
      | {
          updates: number;
          actorOptimizer?: EncodedOptimizerState;
          criticOptimizer?: EncodedOptimizerState;
        }
      | undefined;
    const initialActor = withPrefix(contents.weights, initialActorPrefix);
    const critic = withPrefix(contents.weights, criticPrefix);
    const state: CandidateSelectorState = {
      random: contents.rngState!,
      buffer: metadata.buffer as CandidateSelectorState['buffer'],
      attemptedUpdates: metadata.attemptedUpdates as number,
      appliedUpdates: metadata.appliedUpdates as number,
      groupCounter: metadata.groupCounter as number,
      ...(actor ? { actor } : {}),
      ...(critic ? { critic } : {}),
      ...(saved
        ? {
            updateRule: {
              updates: saved.updates,
              ...(initialActor ? { initialActor } : {}),
              ...(saved.actorOptimizer
                ? { actorOptimizer: decodeOptimizerState(saved.actorOptimizer) }
                : {}),
              ...(saved.criticOptimizer
                ? { criticOptimizer: decodeOptimizerState(saved.criticOptimizer) }
                : {}),
            } satisfies ClippedCandidateUpdateRuleState,
          }
        : {}),
    };
    trainer.setState(state);
    this.step = metadata.step as number;
    const step = this.step;
    await truncateJsonLines(
      this.metrics.filePath,
      (record) => typeof record.step === 'number' && record.step <= step,
    );
    return step;
  }
}
