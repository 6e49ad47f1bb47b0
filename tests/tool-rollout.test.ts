import { fileURLToPath } from 'node:url';
import {
  type Message,
  type Policy,
  parseWithSchema,
  type SampledCompletion,
  type SampleRequest,
  type Tokenizer,
  TrajectorySchema,
} from '@cohort/core';
import {
  createSupportDeskEnvironment,
  supportDeskReferenceReply,
  supportDeskTasks,
  toolCallMetrics,
} from '@cohort/environments';
import { loadBpeTokenizer } from '@cohort/tfjs/node';
import { rolloutGroups } from '@cohort/trainer';
import { describe, expect, it } from 'vitest';

const modelDirectory = fileURLToPath(
  new URL('../apps/agent-trainer/models/support-agent-tiny', import.meta.url),
);

/**
 * Plays the support desk's reference agent as a token-level policy: it reads
 * the conversation back from the ChatML prompt and "samples" the reference
 * reply one character per token, a tokenization the byte-level BPE would
 * never produce, so any decode and re-encode on the way would show.
 */
class ReferenceAgentPolicy implements Policy<never, never> {
  readonly version = 1;
  readonly sampled: number[][] = [];
  constructor(readonly tokenizer: Tokenizer) {}

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    return request.prompts.map((prompt, promptIndex) => {
      const text = this.tokenizer.decode(prompt);
      const messages = [...text.matchAll(/<\|im_start\|>(\w+)\n([\s\S]*?)<\|im_end\|>\n/g)].map(
        ([, role, content]) => ({ role, content }) as Message,
      );
      const reply = supportDeskReferenceReply(messages);
      const tokenIds = [
        ...[...reply].flatMap((character) => this.tokenizer.encode(character)),
        this.tokenizer.endOfTurnTokenId!,
      ];
      this.sampled.push(tokenIds);
      return {
        promptIndex,
        sampleIndex: 0,
        tokenIds,
        logProbsPerToken: tokenIds.map(() => -0.1),
        finishReason: 'stop' as const,
      };
    });
  }

  tokenLogProbs(): never {
    throw new Error('not used');
  }

  trainableVariables(): readonly never[] {
    return [];
  }
}

describe('rollouts on the support desk with a real BPE chat template', () => {
  it('keep the sampled ids exact across tool turns and solve every held-out task', async () => {
    const tokenizer = await loadBpeTokenizer(modelDirectory);
    const policy = new ReferenceAgentPolicy(tokenizer);
    const tasks = supportDeskTasks({ split: 'eval' });
    const result = await rolloutGroups({
      policy,
      environment: createSupportDeskEnvironment(),
      scenarios: tasks,
      groupSize: 2,
      seed: 3,
      generation: { maxNewTokens: 400 },
      rewards: [],
      maxSequenceLength: 8192,
      label: 'desk',
    });
    const trajectories = result.groups.flatMap((group) => group.trajectories);
    expect(trajectories).toHaveLength(40);
    expect(trajectories.every((trajectory) => trajectory.endReason === 'success')).toBe(true);
    expect(trajectories.every((trajectory) => trajectory.totalReward === 1)).toBe(true);
    const metrics = toolCallMetrics(trajectories);
    expect(metrics.errorRate).toBe(0);
    expect(metrics.callsPerEpisode).toBeGreaterThanOrEqual(2);

    let reencodedDiffers = 0;
    for (const trajectory of trajectories) {
      parseWithSchema(TrajectorySchema, JSON.parse(JSON.stringify(trajectory)), 'trajectory');
      expect(trajectory.turns.some((turn) => turn.role === 'tool')).toBe(true);
      // The token ids decode to the conversation the environment saw, tool results included.
      expect(tokenizer.decode(trajectory.tokenIds)).toBe(
        tokenizer.decode(
          tokenizer.applyChatTemplate(trajectory.messages, { addGenerationPrompt: false }),
        ),
      );
      for (const turn of trajectory.turns.filter((item) => item.role === 'assistant')) {
        const ids = trajectory.tokenIds.slice(turn.tokenStart, turn.tokenEnd);
        expect(policy.sampled.some((sampled) => sampled.join() === ids.join())).toBe(true);
        expect(
          trajectory.lossMask.slice(turn.tokenStart, turn.tokenEnd).every((mask) => mask === 1),
        ).toBe(true);
        if (tokenizer.encode(turn.content).length < ids.length - 1) reencodedDiffers += 1;
      }
      const masked = trajectory.lossMask.reduce<number>((sum, mask) => sum + mask, 0);
      const agentTokens = trajectory.turns
        .filter((turn) => turn.role === 'assistant')
        .reduce((sum, turn) => sum + turn.tokenEnd - turn.tokenStart, 0);
      expect(masked).toBe(agentTokens);
    }
    // Re-encoding would have changed the ids of (nearly) every agent turn; the rollout kept them.
    expect(reencodedDiffers).toBeGreaterThan(100);
  });
});
