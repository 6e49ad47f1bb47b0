import {
  parseWithSchema,
  type Scenario,
  type UserReply,
  type UserSimulator,
  type UserSimulatorInput,
} from '@cohort/core';
import {
  type ScriptedUserSimulatorOptions,
  type ScriptedUserSimulatorOptionsInput,
  ScriptedUserSimulatorOptionsSchema,
} from './scripted-user-simulator-options';
import { agentMessagesOf, evaluateSuccessCriteria } from './success-criteria';

/** What the scripted user saw in the agent's turns so far. */
export interface ScriptedProgress {
  /** Agent turns so far. */
  agentTurns: number;
  /** Whether the latest agent turn met a criterion that no earlier turn met. */
  lastTurnProgressed: boolean;
  /** Agent turns in a row, ending with the latest, that met no new criterion. */
  turnsWithoutProgress: number;
  /** Whether every criterion is met. */
  allMet: boolean;
  /** Ids met by the agent's turns so far. */
  metIds: string[];
}

/**
 * Measures progress turn by turn: an agent turn makes progress when, after it,
 * some success criterion is met that was not met before it.
 */
export function scriptedProgress(
  scenario: Scenario,
  agentMessages: readonly string[],
): ScriptedProgress {
  let previousMet = new Set<string>();
  let turnsWithoutProgress = 0;
  let lastTurnProgressed = false;
  let result = evaluateSuccessCriteria(scenario, []);
  for (let turn = 1; turn <= agentMessages.length; turn++) {
    result = evaluateSuccessCriteria(scenario, agentMessages.slice(0, turn));
    const newlyMet = result.metIds.some((id) => !previousMet.has(id));
    lastTurnProgressed = newlyMet;
    turnsWithoutProgress = newlyMet ? 0 : turnsWithoutProgress + 1;
    previousMet = new Set(result.metIds);
  }
  return {
    agentTurns: agentMessages.length,
    lastTurnProgressed,
    turnsWithoutProgress,
    allMet: result.allMet,
    metIds: result.metIds,
  };
}

/**
 * A user simulator that plays a scenario's script, deterministic for a seed.
 *
 * Rules, applied to the agent's messages so far (the user never sees the
 * system prompt):
 * - no agent message yet: the scenario's `opening`;
 * - every success criterion met: `thanks`, `done`, end reason `success`;
 * - "progress" is an agent turn that meets at least one criterion no earlier
 *   turn met. After `patience` agent turns in a row without progress: `giveUp`,
 *   `done`, end reason `give-up`;
 * - the latest turn made progress: an acknowledgement and a continuation
 *   (each chosen with `random`);
 * - otherwise: one of the scenario's `followUps`, chosen with `random`
 *   (a fallback line when it has none).
 *
 * It keeps no state between calls: the reply depends only on the input, so
 * the same messages and random state give the same reply.
 *
 * @example
 * ```ts
 * const simulator = createScriptedUserSimulator();
 * const reply = await simulator.respond({ scenario, messages: [], random: new Random(1) });
 * reply.message === scenario.user.opening; // true
 * ```
 */
export class ScriptedUserSimulator implements UserSimulator<Scenario> {
  readonly name = 'scripted';
  readonly options: ScriptedUserSimulatorOptions;

  constructor(options: ScriptedUserSimulatorOptionsInput = {}) {
    this.options = parseWithSchema(
      ScriptedUserSimulatorOptionsSchema,
      options,
      'scripted user simulator options',
    );
  }

  async respond({ scenario, messages, random }: UserSimulatorInput<Scenario>): Promise<UserReply> {
    const agentMessages = agentMessagesOf(messages);
    if (agentMessages.length === 0) return { message: scenario.user.opening, done: false };
    const progress = scriptedProgress(scenario, agentMessages);
    if (progress.allMet) return { message: scenario.user.thanks, done: true, endReason: 'success' };
    if (progress.turnsWithoutProgress >= scenario.user.patience) {
      return { message: scenario.user.giveUp, done: true, endReason: 'give-up' };
    }
    if (progress.lastTurnProgressed) {
      const acknowledgement = random.choice(this.options.acknowledgements);
      const continuation = random.choice(this.options.continuations);
      return { message: `${acknowledgement} ${continuation}`, done: false };
    }
    const followUps =
      scenario.user.followUps.length > 0 ? scenario.user.followUps : this.options.fallbackFollowUps;
    return { message: random.choice(followUps), done: false };
  }
}

/** Creates a {@link ScriptedUserSimulator}. */
export function createScriptedUserSimulator(
  options: ScriptedUserSimulatorOptionsInput = {},
): ScriptedUserSimulator {
  return new ScriptedUserSimulator(options);
}
