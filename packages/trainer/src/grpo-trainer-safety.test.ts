import {
  type Environment,
  type Message,
  type SampledCompletion,
  type SampleRequest,
  ValidationError,
} from '@cohort/core';
import { MockTokenizer } from '@cohort/core/test';
import { createOptimizer, initializeBackend, UnigramPolicy } from '@cohort/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GrpoTrainer, type TrainerEvent } from './grpo-trainer';
import { resolveTrainingOptions } from './grpo-training-options';

const tokenizer = new MockTokenizer();
const [aId, bId] = tokenizer.encode('ab') as [number, number];

beforeAll(async () => {
  await initializeBackend({ logger: false });
});

/** Scenario `same` rewards every answer 1 (zero spread); `split` rewards "a" with 1 and anything else 0. */
const environment: Environment<{ id: string }> = {
  name: 'two-kinds',
  async reset({ scenario }) {
    const messages: Message[] = [{ role: 'user', content: 'pick' }];
    return {
      messages,
      async step(agentMessage) {
        messages.push({ role: 'assistant', content: agentMessage });
        const reward = scenario.id === 'same' ? 1 : agentMessage.startsWith('a') ? 1 : 0;
        return { reward, done: true, endReason: 'success' };
      },
    };
  },
};

/** A unigram policy over "a" and "b" whose sampler can be made to report NaN log-probs. */
class CorruptiblePolicy extends UnigramPolicy {
  corrupt = false;
  override async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    const completions = await super.sample(request);
    if (!this.corrupt) return completions;
    return completions.map((completion) => ({
      ...completion,
      logProbsPerToken: completion.logProbsPerToken.map(() => Number.NaN),
    }));
  }
}

function makeTrainer(config: Record<string, unknown>, scenarios: { id: string }[]) {
  const initialLogits = Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    id === aId || id === bId ? 0 : -30,
  );
  const policy = new CorruptiblePolicy({ tokenizer, initialLogits });
  const events: TrainerEvent[] = [];
  const trainer = new GrpoTrainer({
    policy,
    optimizer: createOptimizer({ learningRate: 0.1, variables: policy.namedVariables() }),
    environment,
    trainScenarios: scenarios,
    rewards: [],
    config: {
      seed: 4,
      scenariosPerStep: 2,
      groupSize: 4,
      generation: { maxNewTokens: 1 },
      ...config,
    },
    onEvent: (event) => events.push(event),
  });
  return { policy, trainer, events };
}

describe('GrpoTrainer safeguards', () => {
  it('never lets a non-finite loss reach the weights: the update is skipped and reported', async () => {
    const { policy, trainer, events } = makeTrainer({}, [{ id: 'split' }]);
    await trainer.step();
    const before = Array.from(policy.logits.dataSync());
    policy.corrupt = true;
    const metrics = await trainer.step();
    expect(metrics.appliedUpdates).toBe(0);
    expect(metrics.skippedUpdates).toBe(1);
    expect(Array.from(policy.logits.dataSync())).toEqual(before);
    expect(
      events.some((event) => event.type === 'warning' && /non-finite/.test(event.message)),
    ).toBe(true);
    policy.corrupt = false;
    expect((await trainer.step()).appliedUpdates).toBe(1);
  });

  it('drops zero-spread groups under dynamic sampling and refills them', async () => {
    const { trainer, events } = makeTrainer({ dynamicSampling: { enabled: true, maxRefills: 3 } }, [
      { id: 'same' },
      { id: 'split' },
    ]);
    let kept = 0;
    let seen = 0;
    trainer.subscribe((event) => {
      if (event.type === 'rollouts') {
        kept += event.groups.length;
        seen += event.groups.filter((group) => group.scenarioId === 'same').length;
      }
    });
    const metrics = await trainer.step();
    // Every `same` group has zero spread: none reaches the update.
    expect(seen).toBe(0);
    expect(metrics.droppedGroups).toBeGreaterThan(0);
    expect(metrics.refills).toBeGreaterThan(0);
    expect(metrics.zeroSpreadGroupFraction).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
    expect(events.filter((event) => event.type === 'step')).toHaveLength(1);
  });

  it('masks truncated completions out of the loss when asked', async () => {
    // maxNewTokens 1 without a stop token: every completion is cut by the length limit.
    const { policy, trainer } = makeTrainer({ maskTruncated: true }, [{ id: 'split' }]);
    const before = Array.from(policy.logits.dataSync());
    const metrics = await trainer.step();
    expect(metrics.truncatedFraction).toBe(1);
    expect(metrics.appliedUpdates).toBe(0);
    expect(Array.from(policy.logits.dataSync())).toEqual(before);
  });

  it('refuses a bad config before any work, naming the field', () => {
    const messageOf = (input: unknown) => {
      try {
        resolveTrainingOptions(input);
      } catch (error) {
        expect(ValidationError.isInstance(error)).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected a ValidationError');
    };
    expect(messageOf({ groupSize: 1 })).toMatch(/groupSize: Too small/);
    expect(messageOf({ objective: { clipLow: 2 } })).toMatch(/objective\.clipLow/);
    expect(messageOf({ generation: { temprature: 1 } })).toMatch(
      /generation: Unrecognized key.*temprature/,
    );
    expect(messageOf({ kl: { placement: 'everywhere' } })).toMatch(/kl\.placement/);
    expect(resolveTrainingOptions({ steps: 3 }, 'aggressive').dynamicSampling.enabled).toBe(true);
  });
});
