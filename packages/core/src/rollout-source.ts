import type { GenerationOptions } from './policy';
import type { Random } from './random';
import type { TrainablePolicy } from './trainable-policy';
import type { TrajectoryGroup } from './trajectory';

/** What a trainer needs of a scenario: an id. The support scenarios of core are one kind. */
export interface ScenarioLike {
  id: string;
}

/** A reward function that threw or returned a non-finite value, reported instead of killing the run. */
export interface RewardFailure {
  rewardName: string;
  trajectoryId: string;
  message: string;
}

/** What a {@link RolloutSource} hands on: scored groups and how they were gathered. */
export interface RolloutCollection {
  /** Groups kept for learning; every trajectory carries the policy version that sampled it. */
  groups: TrajectoryGroup[];
  /** Episodes run, kept or dropped. */
  episodes: number;
  /** Fraction of the groups seen whose returns had no spread (no group-relative signal). */
  zeroSpreadGroupFraction: number;
  /** Zero-spread groups dropped by dynamic sampling. */
  droppedGroups: number;
  /** Extra rollout rounds run to refill dropped groups. */
  refills: number;
  sampledTokens: number;
  /** Seconds in sampling and the environment (`rollout`) and in reward functions (`scoring`). */
  timings: { rollout: number; scoring: number };
  failures: RewardFailure[];
  /** Episodes dropped by the source because they were sampled too many versions ago (sources that see episodes, such as the gateway). */
  staleEpisodes?: number;
  /** Episodes the source gave up on because their reward never came. */
  timedOutEpisodes?: number;
  /** Groups the source dropped because they were sampled too many versions ago (sources that see groups, such as a transport). */
  staleGroups?: number;
}

/**
 * What a trainer asks a {@link RolloutSource} for at the start of a step.
 *
 * @typeParam S - the scenario type.
 * @typeParam PolicyType - the learner's policy type (the tfjs trainer's `TrainablePolicy`).
 */
export interface RolloutSourceRequest<
  S extends ScenarioLike,
  PolicyType extends TrainablePolicy = TrainablePolicy,
> {
  /** The step about to run (0-based). */
  step: number;
  /** Prefix of trajectory ids for this step, e.g. `s12`. */
  label: string;
  /** The training scenarios to draw from. */
  scenarioPool: readonly S[];
  /** The trainer's random stream: draw scenarios and seeds from it so a run stays reproducible. */
  random: Random;
  scenariosPerStep: number;
  /** Trajectories per group: every kept group must hold exactly this many. */
  groupSize: number;
  /** The learner's policy: sources that sample in this process use it, sources over a transport publish its weights. */
  policy: PolicyType;
  /** The learner's policy version when the step starts (`policy.version`). */
  currentVersion: number;
  /** Trajectories sampled more than this many versions before `currentVersion` must not be kept. */
  maxPolicyLag: number;
  generation: GenerationOptions;
  systemPrompt?: string;
  maxSequenceLength: number;
  /** Groups whose returns spread by at most this count as zero-spread in `zeroSpreadGroupFraction`. */
  zeroSpreadTolerance: number;
  /** Dynamic sampling (DAPO): drop zero-spread groups and roll out again, at most `maxRefills` times. */
  dynamicSampling: { enabled: boolean; maxRefills: number };
  /** Reports what the source dropped or could not get, as trainer warnings. */
  warn: (message: string) => void;
}

/**
 * Where a trainer's rollouts come from: the one protocol of the
 * rollout-collection stage, so that rollouts and learning meet only through
 * data. Implementations: the trainer's environment run in process
 * (`createInProcessRolloutSource` in `@cohort/trainer`, the default), workers
 * over a transport (`TransportRolloutCollector`), an OpenAI-compatible gateway
 * fed by an external agent program (`createGatewayRolloutSource` in
 * `@cohort/gateway`). Each hands back a {@link RolloutCollection}, so every
 * later stage (reference scoring, return shaping, advantages, objectives)
 * runs the same whichever source ran. Every kept group must hold exactly
 * `groupSize` trajectories, each sampled at most `maxPolicyLag` versions
 * before `currentVersion`.
 *
 * @example
 * ```ts
 * const source: RolloutSource<Scenario> = { kind: 'replay', collect: async (request) => replay(request) };
 * ```
 */
export interface RolloutSource<
  S extends ScenarioLike,
  PolicyType extends TrainablePolicy = TrainablePolicy,
> {
  /** A short name for logs: `in-process`, `transport`, `gateway`, ... */
  readonly kind: string;
  collect(request: RolloutSourceRequest<S, PolicyType>): Promise<RolloutCollection>;
}
