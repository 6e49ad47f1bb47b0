import {
  type Environment,
  type Episode,
  type Message,
  Random,
  type StepResult,
} from '@cohort/core';
import { EpisodeDoneError } from '@cohort/environments';

/** One game: the episode's seed draws the secret from [low, high]. */
export type GuessScenario = { id: string; low: number; high: number; maxGuesses: number };

type ResetOptions = { scenario: GuessScenario; seed: number; systemPrompt?: string };

/**
 * "Guess my number": the user answers each guess with "Higher." or "Lower."
 * until the agent finds the number (reward 1 - (guesses - 1) / maxGuesses,
 * paid on the winning turn) or runs out of guesses (reward 0).
 */
export class GuessNumberEnvironment implements Environment<GuessScenario> {
  readonly name = 'guess-the-number';

  async reset({ scenario, seed, systemPrompt }: ResetOptions) {
    const opening = `I am thinking of a number from ${scenario.low} to ${scenario.high}.`;
    return new GuessNumberEpisode(scenario, new Random(seed).int(scenario.low, scenario.high + 1), [
      { role: 'system', content: systemPrompt ?? 'Guess the number. Answer with one number.' },
      { role: 'user', content: opening },
    ]);
  }
}

class GuessNumberEpisode implements Episode {
  private guesses = 0;
  private endReason: StepResult['endReason'];

  constructor(
    private readonly scenario: GuessScenario,
    readonly secret: number,
    readonly messages: Message[],
  ) {}

  async step(agentMessage: string): Promise<StepResult> {
    const { endReason, scenario, secret } = this;
    if (endReason) throw new EpisodeDoneError({ environment: 'guess-the-number', endReason });
    this.messages.push({ role: 'assistant', content: agentMessage });
    this.guesses++;
    const guess = Number.parseInt(agentMessage.match(/\d+/)?.[0] ?? '', 10);
    if (guess === secret || this.guesses === scenario.maxGuesses) {
      this.endReason = guess === secret ? 'success' : 'turn-limit';
      const reward = guess === secret ? 1 - (this.guesses - 1) / scenario.maxGuesses : 0;
      return { reward, done: true, endReason: this.endReason, info: { secret } };
    }
    const hint = Number.isNaN(guess) ? 'Say a number.' : guess < secret ? 'Higher.' : 'Lower.';
    this.messages.push({ role: 'user', content: hint });
    return { userMessage: hint, reward: 0, done: false };
  }
}
