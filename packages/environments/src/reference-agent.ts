import {
  InvalidArgumentError,
  type Message,
  Random,
  type Scenario,
  type SuccessCriterion,
  type UserSimulator,
} from '@cohort/core';
import { ConversationEnvironment } from './conversation-environment';
import { agentMessagesOf, evaluateSuccessCriteria } from './success-criteria';
import { supportReferenceLines } from './support-scenarios';

/** Options of {@link referenceAgentReply}. */
export interface ReferenceAgentOptions {
  /** Unmet criteria addressed per turn, in the scenario's order (default: all of them). */
  criteriaPerTurn?: number;
  /** Chooses greetings and closings; without it the first of each is used. */
  random?: Random;
  /** Lines by criterion id, overriding the built-in ones; `{phrase}` is filled in. */
  lines?: Readonly<Record<string, string>>;
}

const greetings = [
  'Hello, I am sorry about the trouble.',
  'Hi, thanks for reaching out.',
  'Hello, I can help with that.',
  'Thanks for contacting us.',
] as const;

const closings = [
  'Is there anything else I can do for you?',
  'Let me know if you need anything else.',
];

function lineFor(criterion: SuccessCriterion, lines: Readonly<Record<string, string>>): string {
  const phrase = criterion.anyOf?.[0] ?? criterion.allOf?.join(' ') ?? criterion.description;
  const template = lines[criterion.id] ?? supportReferenceLines[criterion.id];
  if (template !== undefined) return template.replaceAll('{phrase}', phrase);
  if (criterion.allOf) return `About your request: ${criterion.allOf.join(', ')}.`;
  return `About your request: ${phrase}.`;
}

/**
 * A scripted good agent: its reply addresses the next unmet success criteria.
 *
 * For each criterion still unmet by the agent's earlier messages (up to
 * `criteriaPerTurn`, in the scenario's order) it says the criterion's line:
 * `options.lines[id]`, else the built-in support line, else a generic
 * sentence quoting the `anyOf` phrase or every `allOf` phrase. `{phrase}` in a
 * line is replaced by the first `anyOf` phrase. The first turn starts with a
 * greeting (chosen with `random` when given). A criterion given only as
 * a `pattern` cannot be spelled out in general: supply a line for it.
 *
 * It is the teacher of the app's `sft` command and the upper baseline of the
 * tests: on every built-in scenario it succeeds.
 *
 * @example
 * ```ts
 * const reply = referenceAgentReply(scenario, episode.messages, { criteriaPerTurn: 1 });
 * await episode.step(reply);
 * ```
 */
export function referenceAgentReply(
  scenario: Scenario,
  messages: readonly Message[],
  options: ReferenceAgentOptions = {},
): string {
  const criteriaPerTurn = options.criteriaPerTurn ?? Number.POSITIVE_INFINITY;
  if (
    !(criteriaPerTurn >= 1) ||
    (Number.isFinite(criteriaPerTurn) && !Number.isInteger(criteriaPerTurn))
  ) {
    throw new InvalidArgumentError({
      argument: 'criteriaPerTurn',
      value: criteriaPerTurn,
      message: 'must be an integer >= 1',
    });
  }
  const agentMessages = agentMessagesOf(messages);
  const { unmetIds } = evaluateSuccessCriteria(scenario, agentMessages);
  const random = options.random;
  const parts: string[] = [];
  if (agentMessages.length === 0) parts.push(random ? random.choice(greetings) : greetings[0]);
  const unmet = scenario.successCriteria.filter((criterion) => unmetIds.includes(criterion.id));
  for (const criterion of unmet.slice(0, criteriaPerTurn)) {
    parts.push(lineFor(criterion, options.lines ?? {}));
  }
  if (unmet.length === 0) parts.push(random ? random.choice(closings) : closings[0]!);
  return parts.join(' ');
}

/** Options of {@link generateDialogues}. */
export interface GenerateDialoguesOptions {
  scenarios: readonly Scenario[];
  seed: number;
  /** Number of dialogues (default: one per scenario). */
  count?: number;
  /** Criteria per agent turn: a fixed number, or `random` (1 to all, per dialogue; default). */
  criteriaPerTurn?: number | 'random';
  /** The user's side (default: the scripted user simulator). */
  userSimulator?: UserSimulator<Scenario>;
  /** System prompt override. */
  systemPrompt?: string;
  /** Lines by criterion id for custom scenarios. */
  lines?: Readonly<Record<string, string>>;
}

/**
 * Conversations between the {@link referenceAgentReply} agent and the user
 * simulator, run through a {@link ConversationEnvironment}: the supervised
 * data of the app's `sft` command. Scenarios are visited in a shuffled order
 * (reshuffled after each pass), so `count` may exceed their number. Each
 * dialogue is `[system, user, assistant, user, ..., assistant]`; the user's
 * closing thanks is not included. Deterministic for a seed.
 *
 * @example
 * ```ts
 * const dialogues = await generateDialogues({ scenarios: supportScenarios({ split: 'train' }), seed: 1, count: 200 });
 * dialogues[0]![0]!.role; // 'system'
 * ```
 */
export async function generateDialogues(options: GenerateDialoguesOptions): Promise<Message[][]> {
  const { scenarios } = options;
  if (!Array.isArray(scenarios) || scenarios.length === 0) {
    throw new InvalidArgumentError({
      argument: 'scenarios',
      value: scenarios,
      message: 'must be a non-empty array of scenarios',
    });
  }
  const count = options.count ?? scenarios.length;
  if (!Number.isInteger(count) || count < 0) {
    throw new InvalidArgumentError({
      argument: 'count',
      value: count,
      message: 'must be an integer >= 0',
    });
  }
  const criteriaPerTurn = options.criteriaPerTurn ?? 'random';
  if (
    criteriaPerTurn !== 'random' &&
    !(Number.isInteger(criteriaPerTurn) && criteriaPerTurn >= 1)
  ) {
    throw new InvalidArgumentError({
      argument: 'criteriaPerTurn',
      value: criteriaPerTurn,
      message: "must be an integer >= 1 or 'random'",
    });
  }
  const random = new Random(options.seed);
  const environment = new ConversationEnvironment(
    options.userSimulator ? { userSimulator: options.userSimulator } : {},
  );
  const dialogues: Message[][] = [];
  let order: Scenario[] = [];
  for (let index = 0; index < count; index++) {
    if (order.length === 0) order = random.shuffle(scenarios);
    const scenario = order.pop()!;
    const episodeRandom = random.fork(index);
    const perTurn =
      criteriaPerTurn === 'random'
        ? episodeRandom.int(1, scenario.successCriteria.length + 1)
        : criteriaPerTurn;
    const episode = await environment.reset({
      scenario,
      seed: episodeRandom.seed(),
      ...(options.systemPrompt !== undefined ? { systemPrompt: options.systemPrompt } : {}),
    });
    while (!episode.done) {
      const reply = referenceAgentReply(episode.scenario, episode.messages, {
        criteriaPerTurn: perTurn,
        random: episodeRandom,
        ...(options.lines ? { lines: options.lines } : {}),
      });
      await episode.step(reply);
    }
    dialogues.push(episode.messages.map((message) => ({ ...message })));
  }
  return dialogues;
}
