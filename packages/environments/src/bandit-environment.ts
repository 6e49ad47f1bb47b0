import {
  type Environment,
  type Episode,
  InvalidArgumentError,
  type Message,
  parseWithSchema,
  Random,
  type StepResult,
} from '@cohort/core';
import { z } from 'zod';
import { Bandit } from './bandit';
import { BanditOptionsSchema } from './bandit-options';
import { EpisodeDoneError } from './episode-done-error';

/** What a bandit episode is about: an id and, optionally, its own prompt. */
export interface BanditTask {
  id: string;
  prompt?: string;
}

/**
 * Options of {@link BanditEnvironment}: a bandit (or its options), the prompt,
 * how arms are numbered in text, and the reward of an answer that names no
 * valid arm.
 */
export const BanditEnvironmentOptionsSchema = z
  .object({
    name: z.string().min(1).default('bandit'),
    bandit: z.union([z.instanceof(Bandit), BanditOptionsSchema]),
    systemPrompt: z.string().optional(),
    /** Default user prompt; `{count}`, `{first}` and `{last}` are filled in. */
    prompt: z
      .string()
      .min(1)
      .default('Choose one arm from {first} to {last}. Answer with the arm number.'),
    /** Number the arms in text from 0 (default) or from 1. */
    armIndexBase: z.union([z.literal(0), z.literal(1)]).default(0),
    /** Reward of an answer that names no valid arm. */
    invalidReward: z.number().finite().default(0),
  })
  .strict();

export type BanditEnvironmentOptions = z.output<typeof BanditEnvironmentOptionsSchema>;
export type BanditEnvironmentOptionsInput = z.input<typeof BanditEnvironmentOptionsSchema>;

/**
 * Reads an arm from an agent's message: the number after the first `arm`
 * (`arm 3`, `Arm #3`, `arm:3`), else the first run of digits anywhere (`3`,
 * `I pick 3.`). Returns the 0-based arm, or `null` when there is no number or
 * it is out of range. With `armIndexBase: 1`, `arm 1` is arm 0.
 *
 * @example
 * ```ts
 * parseArmChoice('I choose arm 2.', 4); // 2
 * parseArmChoice('7', 4);               // null (out of range)
 * ```
 */
export function parseArmChoice(
  text: string,
  armCount: number,
  armIndexBase: 0 | 1 = 0,
): number | null {
  const named = /\barm\s*[#:]?\s*(\d+)/i.exec(text);
  const digits = named?.[1] ?? /\d+/.exec(text)?.[0];
  if (digits === undefined) return null;
  const arm = Number.parseInt(digits, 10) - armIndexBase;
  return arm >= 0 && arm < armCount ? arm : null;
}

/** One single-turn bandit episode. */
export class BanditEpisode implements Episode {
  private readonly conversation: Message[];
  private finished = false;

  constructor(
    private readonly environment: BanditEnvironment,
    prompt: string,
    systemPrompt: string | undefined,
    private readonly random: Random,
  ) {
    this.conversation = [
      ...(systemPrompt ? [{ role: 'system' as const, content: systemPrompt }] : []),
      { role: 'user', content: prompt },
    ];
  }

  get messages(): readonly Message[] {
    return this.conversation;
  }

  get done(): boolean {
    return this.finished;
  }

  async step(agentMessage: string): Promise<StepResult> {
    if (this.finished) {
      throw new EpisodeDoneError({ environment: this.environment.name, endReason: 'turn-limit' });
    }
    if (typeof agentMessage !== 'string') {
      throw new InvalidArgumentError({
        argument: 'agentMessage',
        value: agentMessage,
        message: 'must be a string',
      });
    }
    this.conversation.push({ role: 'assistant', content: agentMessage });
    this.finished = true;
    const { bandit, options } = this.environment;
    const arm = parseArmChoice(agentMessage, bandit.armCount, options.armIndexBase);
    const bestArmMean = bandit.bestArmMean();
    if (arm === null) {
      return {
        reward: options.invalidReward,
        done: true,
        endReason: 'turn-limit',
        info: { arm: null, valid: false, bestArmMean },
      };
    }
    const armMean = bandit.armMeans()[arm]!;
    const reward = bandit.pull(arm, this.random);
    return {
      reward,
      done: true,
      endReason: 'turn-limit',
      info: { arm, valid: true, armMean, bestArmMean, regret: bestArmMean - armMean },
    };
  }
}

/**
 * A bandit as a single-turn conversation, so token-level policies can be
 * tested on it: the user asks for an arm, the agent's message names one (see
 * {@link parseArmChoice}), the reward is that arm's pull and the episode ends
 * (`turn-limit`). An answer that names no valid arm earns `invalidReward`
 * and pulls nothing. All episodes share one bandit, so drift continues across
 * episodes; the pull noise of an episode comes from its `seed`.
 *
 * @example
 * ```ts
 * const environment = createBanditEnvironment({ bandit: { armMeans: [0, 1], noise: 'gaussian', noiseStd: 0.1 } });
 * const episode = await environment.reset({ scenario: { id: 'bandit' }, seed: 1 });
 * const { reward } = await episode.step('arm 1'); // about 1
 * ```
 */
export class BanditEnvironment implements Environment<BanditTask> {
  readonly name: string;
  readonly options: BanditEnvironmentOptions;
  readonly bandit: Bandit;

  constructor(options: BanditEnvironmentOptionsInput) {
    this.options = parseWithSchema(
      BanditEnvironmentOptionsSchema,
      options,
      'bandit environment options',
    );
    this.name = this.options.name;
    this.bandit =
      this.options.bandit instanceof Bandit ? this.options.bandit : new Bandit(this.options.bandit);
  }

  async reset(options: {
    scenario?: BanditTask;
    seed: number;
    systemPrompt?: string;
  }): Promise<BanditEpisode> {
    if (typeof options?.seed !== 'number' || !Number.isFinite(options.seed)) {
      throw new InvalidArgumentError({
        argument: 'seed',
        value: options?.seed,
        message: 'must be a finite number',
      });
    }
    const count = this.bandit.armCount;
    const base = this.options.armIndexBase;
    const prompt = (options.scenario?.prompt ?? this.options.prompt)
      .replaceAll('{count}', String(count))
      .replaceAll('{first}', String(base))
      .replaceAll('{last}', String(count - 1 + base));
    return new BanditEpisode(
      this,
      prompt,
      options.systemPrompt ?? this.options.systemPrompt,
      new Random(options.seed),
    );
  }
}

/** Creates a {@link BanditEnvironment}. */
export function createBanditEnvironment(options: BanditEnvironmentOptionsInput): BanditEnvironment {
  return new BanditEnvironment(options);
}
