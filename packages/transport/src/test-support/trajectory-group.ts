import type { Trajectory, TrajectoryGroup } from '@cohort/core';
import type { RolloutTask } from '../rollout-records';

/**
 * A valid trajectory group for a task, as a worker's handler would return it.
 * The transport only carries records, so its tests use records whose every
 * field depends on the task, which makes a mixed-up or doubled result visible.
 */
export function trajectoryGroupFor(
  task: RolloutTask,
  policyVersion = task.policyVersion,
): TrajectoryGroup {
  const trajectories: Trajectory[] = [];
  for (let index = 0; index < task.groupSize; index++) {
    const tokenIds = [1, 2 + (task.seed % 50), 3 + index, 4];
    trajectories.push({
      id: `${task.taskId}-${index}`,
      scenarioId: task.scenarioId,
      seed: task.seed,
      policyVersion,
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: `reply ${index}` },
      ],
      turns: [],
      tokenIds,
      lossMask: [0, 0, 1, 1],
      behaviorLogProbs: [0, 0, -0.5 - index / 10, -0.25],
      rewardsPerTurn: [index / task.groupSize],
      rewardsByFunction: { success: index % 2 },
      totalReward: index / task.groupSize + task.seed / 1000,
      endReason: 'success',
      truncated: false,
      temperature: 1,
    });
  }
  return { groupId: `${task.taskId}-group`, scenarioId: task.scenarioId, trajectories };
}

/** `count` tasks of step `step`, seeds 100*step + i. */
export function tasksFor(
  step: number,
  count: number,
  policyVersion: number,
  payload?: (index: number) => unknown,
): RolloutTask[] {
  return Array.from({ length: count }, (_, index) => ({
    taskId: `s${step}-g${index}`,
    step,
    scenarioId: `scenario-${index % 3}`,
    seed: 100 * step + index,
    groupIndex: index,
    groupSize: 2,
    policyVersion,
    ...(payload === undefined ? {} : { payload: payload(index) }),
  }));
}
