import { InvalidArgumentError, type Message, type Random } from '@cohort/core';
import {
  formatToolCalls,
  parseToolCalls,
  type SupportDeskEnvironment,
  type SupportDeskTask,
} from '@cohort/environments';

const letters = 'abcdefghijklmnopqrstuvwxyz';
const digits = '0123456789';

/**
 * `value` with one character of its copied part changed to another of its
 * kind (letter for letter, digit for digit) or dropped, at even odds: the
 * slips a small model makes when it copies an email or an order id
 * (`zuf.virtanen92` for `yusuf.virtanen92`). The copied part is an email's
 * local part or an order id's digits; `taken` holds the values that exist
 * (the database's emails and order ids), which the result never is, so the
 * backend answers it with an error.
 *
 * @example
 * ```ts
 * corruptedArgument('yusuf.virtanen92@example.com', new Set(), random); // 'ysuf.virtanen92@example.com'
 * ```
 */
export function corruptedArgument(
  value: string,
  taken: ReadonlySet<string>,
  random: Random,
): string {
  const end = value.includes('@') ? value.indexOf('@') : value.length;
  const positions = [...value.slice(0, end)].flatMap((character, index) =>
    /[a-z0-9]/i.test(character) && !(index === 0 && /^A\d/.test(value)) ? [index] : [],
  );
  if (positions.length === 0)
    throw new InvalidArgumentError({
      argument: 'value',
      value,
      message: 'has no letter or digit to corrupt',
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const index = random.choice(positions);
    const character = value[index]!;
    let replacement = '';
    if (!random.bernoulli(0.5)) {
      const kind = /\d/.test(character) ? digits : letters;
      const others = [...kind].filter((other) => other !== character.toLowerCase());
      replacement = random.choice(others);
    }
    const corrupted = `${value.slice(0, index)}${replacement}${value.slice(index + 1)}`;
    if (!taken.has(corrupted.toLowerCase())) return corrupted;
  }
  throw new InvalidArgumentError({
    argument: 'value',
    value,
    message: 'every corruption tried is a value the database holds',
  });
}

/**
 * The agent turn of a recovery dialogue: when `reference` (the reference
 * agent's next turn) is the dialogue's first tool call and it is
 * `find_customer` or `get_order`, the same call with its argument corrupted
 * ({@link corruptedArgument}, never a value of `task`'s database); otherwise
 * `undefined` (the reference turn stands). The backend answers the corrupted
 * call with its real error, and the reference agent, which ignores failed
 * results, then makes the call again with the argument copied right from the
 * conversation: the dialogue shows a failed call and its recovery, which the
 * reference agent's own dialogues never do.
 *
 * @example
 * ```ts
 * const turn = recoveryTurn({ messages, reference, task, random }) ?? reference;
 * ```
 */
export function recoveryTurn(options: {
  messages: readonly Message[];
  reference: string;
  task: SupportDeskTask;
  random: Random;
}): string | undefined {
  const { messages, reference, task, random } = options;
  if (
    messages.some((message) => message.role === 'assistant' && /<tool_call>/.test(message.content))
  )
    return undefined;
  const [call] = parseToolCalls(reference, 'hermes').attempts.flatMap((attempt) =>
    attempt.kind === 'call' ? [attempt.call] : [],
  );
  if (call === undefined) return undefined;
  const field =
    call.name === 'find_customer' ? 'email' : call.name === 'get_order' ? 'order_id' : undefined;
  const value = field === undefined ? undefined : call.arguments[field];
  if (field === undefined || typeof value !== 'string') return undefined;
  const taken = new Set(
    field === 'email'
      ? task.database.customers.map((customer) => customer.email.toLowerCase())
      : task.database.orders.map((order) => order.id.toLowerCase()),
  );
  const corrupted = corruptedArgument(value, taken, random);
  return formatToolCalls(
    [{ ...call, arguments: { ...call.arguments, [field]: corrupted } }],
    'hermes',
  );
}

/**
 * `lossMask` with every token of message `index` of `dialogue` (its content
 * and end of turn) set to 0, for a turn the model must not learn: the
 * corrupted call of a recovery dialogue. The positions are those of
 * `tokenizer.applyChatTemplate(dialogue)`.
 *
 * @example
 * ```ts
 * const lossMask = withoutMessageLoss(example.lossMask, dialogue, 4, tokenizer);
 * ```
 */
export function withoutMessageLoss(
  lossMask: readonly number[],
  dialogue: readonly Message[],
  index: number,
  tokenizer: {
    applyChatTemplate(
      messages: readonly Message[],
      options?: { addGenerationPrompt?: boolean },
    ): number[];
  },
): number[] {
  const start = tokenizer.applyChatTemplate(dialogue.slice(0, index), {
    addGenerationPrompt: true,
  }).length;
  const end = tokenizer.applyChatTemplate(dialogue.slice(0, index + 1), {
    addGenerationPrompt: false,
  }).length;
  return lossMask.map((value, position) => (position >= start && position < end ? 0 : value));
}

/**
 * How `dialogue` ends when its agent turns are played again on `task` in
 * `environment` (the episode seeded `seed`): `success` when the final
 * database state and the facts told pass the environment's checks.
 *
 * @example
 * ```ts
 * await replayedEndReason({ environment, task, dialogue, seed: 7 }); // 'success'
 * ```
 */
export async function replayedEndReason(options: {
  environment: SupportDeskEnvironment;
  task: SupportDeskTask;
  dialogue: readonly Message[];
  seed: number;
}): Promise<string | undefined> {
  const episode = await options.environment.reset({ scenario: options.task, seed: options.seed });
  for (const message of options.dialogue) {
    if (message.role !== 'assistant') continue;
    if (episode.done) return 'ended-early';
    await episode.step(message.content);
  }
  return episode.done ? episode.endReason : 'not-ended';
}
