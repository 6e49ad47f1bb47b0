/**
 * A task the gateway hands to the agent program: run `scenario` once as
 * episode `episodeId`, calling the policy with that episode id, then post the
 * episode's reward. The G tasks of a group share `groupId` and `scenarioId`.
 */
export interface EpisodeTask {
  episodeId: string;
  groupId: string;
  scenarioId: string;
  /** The scenario as JSON, for the agent program to set up its conversation from. */
  scenario: unknown;
  /** A seed the agent may pass as `seed` on its calls, so a run is reproducible. */
  seed: number;
  /** `train`: sample at `temperature`; `evaluate`: a held-out episode, sampled at `temperature` too. */
  mode: 'train' | 'evaluate';
  /** The temperature the learner assumes; calls at another temperature make the episode unusable. */
  temperature: number;
  /** Completion tokens per call the learner was configured for. */
  maxTokens: number;
  /** Policy version when the task was offered. */
  policyVersion: number;
}

/** An {@link EpisodeTask} as `POST /v1/tasks/next` returns it (snake_case, as the rest of the API). */
export function taskBody(task: EpisodeTask) {
  return {
    episode_id: task.episodeId,
    group_id: task.groupId,
    scenario_id: task.scenarioId,
    scenario: task.scenario,
    seed: task.seed,
    mode: task.mode,
    temperature: task.temperature,
    max_tokens: task.maxTokens,
    policy_version: task.policyVersion,
  };
}
