import {
  type Message,
  parseWithSchema,
  type Scenario,
  type UserReply,
  type UserSimulator,
  type UserSimulatorInput,
} from '@cohort/core';
import { evaluateSuccessCriteria } from '@cohort/environments';
import {
  type LlmUserSimulatorOptions,
  type LlmUserSimulatorOptionsInput,
  LlmUserSimulatorOptionsSchema,
} from './llm-user-simulator-options';
import type { TransformersSampler } from './transformers-sampler';

/** The system prompt that casts the model as the scenario's user. */
export function userSimulatorInstructions(scenario: Scenario): string {
  return [
    `You are role-playing a customer talking to a support agent. Persona: ${scenario.persona}`,
    `Your goal: ${scenario.goal}`,
    scenario.context ? `What you know: ${scenario.context}` : '',
    'Write only your next message to the agent, in one or two sentences.',
  ]
    .filter((line) => line.length > 0)
    .join('\n');
}

/**
 * A core `UserSimulator` that writes the user's turns with a local causal LM:
 * the model gets a system prompt with the scenario's persona, goal and
 * context, and the conversation so far with the roles swapped (the agent's
 * messages are its "user" turns, the simulated user's earlier messages its
 * own "assistant" turns), and its sampled answer is the next user message.
 * The episode ends with `success` (saying `user.thanks`) once the agent's
 * messages meet every success criterion of the scenario (the same check as
 * the scripted simulator), and with `give-up` when the model says a stop
 * phrase. Deterministic for the same input and random state: the sampling
 * seed is drawn from `input.random`. Oldest turns are dropped when the
 * prompt would not fit the model.
 *
 * @example
 * ```ts
 * const user = new LlmUserSimulator({ sampler: new TransformersSampler({ model, tokenizer }), stopPhrases: ['goodbye'] });
 * const reply = await user.respond({ scenario, messages, random: new Random(1) });
 * ```
 */
export class LlmUserSimulator implements UserSimulator<Scenario> {
  readonly name: string;
  readonly sampler: TransformersSampler;
  readonly options: LlmUserSimulatorOptions;

  constructor(options: LlmUserSimulatorOptionsInput & { sampler: TransformersSampler }) {
    const { sampler, ...rest } = options;
    this.options = parseWithSchema(LlmUserSimulatorOptionsSchema, rest, 'LlmUserSimulator options');
    this.name = this.options.name;
    this.sampler = sampler;
  }

  async respond(input: UserSimulatorInput<Scenario>): Promise<UserReply> {
    const { scenario, messages, random } = input;
    const agentMessages = messages
      .filter((message) => message.role === 'assistant')
      .map((message) => message.content);
    if (
      this.options.endOnSuccess &&
      agentMessages.length > 0 &&
      evaluateSuccessCriteria(scenario, agentMessages).allMet
    ) {
      return { message: scenario.user.thanks, done: true, endReason: 'success' };
    }
    const hasUserTurn = messages.some((message) => message.role === 'user');
    if (!hasUserTurn && this.options.opening === 'scripted') {
      return { message: scenario.user.opening, done: false };
    }
    const seed = random.seed();
    const text = (await this.generate(scenario, messages, seed)).trim();
    const lower = text.toLowerCase();
    const stopped = this.options.stopPhrases.some((phrase) => lower.includes(phrase.toLowerCase()));
    if (stopped) return { message: text || scenario.user.giveUp, done: true, endReason: 'give-up' };
    // A model that says nothing still has to answer: fall back to the scenario's own lines.
    const fallback =
      scenario.user.followUps.length > 0 ? random.choice(scenario.user.followUps) : scenario.goal;
    return { message: text.length > 0 ? text : fallback, done: false };
  }

  private async generate(
    scenario: Scenario,
    messages: readonly Message[],
    seed: number,
  ): Promise<string> {
    const { tokenizer, model } = this.sampler;
    // The user sees neither the system prompt nor the results of the agent's tool calls.
    const swapped: Message[] = messages
      .filter((message) => message.role !== 'system' && message.role !== 'tool')
      .map((message) => ({
        role: message.role === 'assistant' ? 'user' : 'assistant',
        content: message.content,
      }));
    const system: Message = { role: 'system', content: userSimulatorInstructions(scenario) };
    const limit = (model.maxPositions ?? Number.POSITIVE_INFINITY) - this.options.maxNewTokens;
    let turns = swapped;
    let prompt = tokenizer.applyChatTemplate([system, ...turns], { addGenerationPrompt: true });
    while (prompt.length > limit && turns.length > 0) {
      turns = turns.slice(1);
      prompt = tokenizer.applyChatTemplate([system, ...turns], { addGenerationPrompt: true });
    }
    const [text] = await this.sampler.generateTexts({
      prompt,
      n: 1,
      seed,
      maxNewTokens: this.options.maxNewTokens,
      temperature: this.options.temperature,
      topK: this.options.topK,
      topP: this.options.topP,
      stopStrings: this.options.stopPhrases,
    });
    return text ?? '';
  }
}
