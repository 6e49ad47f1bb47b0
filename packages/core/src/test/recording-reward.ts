import type { RewardContext, RewardFunction } from '../reward-function';

/**
 * A reward function that scores with the given function and records every
 * context it saw, for tests that check what a trainer asked of its rewards.
 */
export class RecordingReward<ScenarioType = unknown> implements RewardFunction<ScenarioType> {
  readonly name: string;
  readonly scope: 'turn' | 'episode';
  readonly calls: RewardContext<ScenarioType>[] = [];
  private readonly scoreFunction: (context: RewardContext<ScenarioType>) => number | null;

  constructor(options: {
    name: string;
    score: (context: RewardContext<ScenarioType>) => number | null;
    scope?: 'turn' | 'episode';
  }) {
    this.name = options.name;
    this.scope = options.scope ?? 'episode';
    this.scoreFunction = options.score;
  }

  score(context: RewardContext<ScenarioType>): number | null {
    this.calls.push(context);
    return this.scoreFunction(context);
  }
}
