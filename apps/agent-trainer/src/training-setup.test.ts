import { ValidationError } from '@cohort/core';
import {
  type SupportDeskTask,
  supportDeskReferenceReply,
  supportDeskTaskKinds,
} from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { resolveAppConfig } from './app-config';
import { createEnvironmentSetup } from './training-setup';

describe('the support-desk environment of the app', () => {
  it('resolves with the environment as the only reward, compact tool descriptions and generated splits', () => {
    const config = resolveAppConfig({
      environment: { type: 'support-desk', trainTasks: 10, evalTasks: 5 },
    });
    expect(config.rewards).toEqual([]);
    expect(config.environment).toMatchObject({
      type: 'support-desk',
      toolPrompt: 'compact',
      format: 'hermes',
      trainTasks: 10,
      evalTasks: 5,
      rewards: { success: 1, partialCredit: 0, wrongAction: 0, inventedOrderId: 0 },
    });
    // A config's own rewards still add to the environment's.
    expect(
      resolveAppConfig({
        environment: { type: 'support-desk' },
        rewards: [{ type: 'format', weight: 0.5 }],
      }).rewards,
    ).toHaveLength(1);
  });

  it('refuses no rewards where the environment pays none, and names bad support-desk fields', () => {
    const issuesOf = (input: unknown) => {
      try {
        resolveAppConfig(input);
      } catch (error) {
        if (ValidationError.isInstance(error)) return error.issues;
        throw error;
      }
      throw new Error('expected a ValidationError');
    };
    expect(issuesOf({ rewards: [] })).toEqual([
      {
        path: 'rewards',
        message: expect.stringContaining('pays no reward of its own'),
      },
    ]);
    expect(
      issuesOf({ environment: { type: 'support-desk', toolPrompt: 'short' } })[0],
    ).toMatchObject({ path: 'environment.toolPrompt' });
    expect(issuesOf({ environment: { type: 'support-desk', evalTasks: 0 } })[0]).toMatchObject({
      path: 'environment.evalTasks',
    });
  });

  it('builds train and held-out tasks, strata by task kind, and counts invented order ids per episode', async () => {
    const config = resolveAppConfig({
      environment: { type: 'support-desk', trainTasks: 10, evalTasks: 5, maxAgentTurns: 6 },
    });
    const setup = await createEnvironmentSetup(config.environment);
    expect(setup.trainScenarios).toHaveLength(10);
    expect(setup.evalScenarios).toHaveLength(5);
    const trainIds = new Set(setup.trainScenarios.map((task) => task.id));
    expect(setup.evalScenarios.some((task) => trainIds.has(task.id))).toBe(false);
    expect(setup.evalScenarios.map((task) => setup.categoryOf!(task))).toEqual([
      ...supportDeskTaskKinds,
    ]);
    // The environment built from the config is the support desk with its options: the reference agent solves a task in it.
    const task = setup.evalScenarios[0]!;
    const episode = await setup.environment.reset({ scenario: task, seed: 1 });
    expect(episode.messages[0]!.content).not.toContain('<tools>');
    let last: Awaited<ReturnType<typeof episode.step>> | undefined;
    while (!last?.done) last = await episode.step(supportDeskReferenceReply(episode.messages));
    expect(last.endReason).toBe('success');
    const known = (task as unknown as SupportDeskTask).database.orders[0]!.id;
    const messages = [
      { role: 'assistant' as const, content: `Is it ${known}, or A0000?` },
      { role: 'assistant' as const, content: 'A0000 then.' },
    ];
    const trajectory = { messages } as unknown as Parameters<
      NonNullable<typeof setup.episodeCounts>
    >[0];
    expect(setup.episodeCounts!(trajectory, task)).toEqual({ inventedOrderIds: 1 });
  });
});
