import { appendFile } from 'node:fs/promises';
import { trajectoryLine } from '@cohort/console';
import type { Scenario } from '@cohort/core';
import type { GrpoTrainer } from '@cohort/trainer';

/**
 * Appends the rollouts of each training step to `trajectories.jsonl` for the
 * console's trajectory viewer: the first `groupsPerStep` groups of every
 * step (a group is the G answers to one scenario, so the viewer can compare
 * them), with each agent token as sampled, decoded on its own, and its
 * behaviour log-prob. The trainer does not expose per-token advantages, KL or
 * entropy yet, so they are not written. Steps are numbered as in
 * `metrics.jsonl` (the step the rollouts train). Returns the function that
 * stops logging and waits for the last write.
 *
 * @example
 * ```ts
 * const stop = logTrajectories({ trainer, file: 'runs/x/trajectories.jsonl', groupsPerStep: 1 });
 * ```
 */
export function logTrajectories(options: {
  trainer: GrpoTrainer<Scenario>;
  file: string;
  groupsPerStep: number;
  onError: (error: unknown) => void;
}): () => Promise<void> {
  const { trainer, file } = options;
  const tokenizer = trainer.policy.tokenizer;
  let writes: Promise<void> = Promise.resolve();
  const unsubscribe = trainer.subscribe((event) => {
    if (event.type !== 'rollouts') return;
    const lines = event.groups.slice(0, options.groupsPerStep).flatMap((group) =>
      group.trajectories.map((trajectory) =>
        JSON.stringify(
          trajectoryLine({
            step: event.step + 1,
            groupId: group.groupId,
            trajectory,
            decodeToken: (id) => tokenizer.decode([id]),
          }),
        ),
      ),
    );
    if (lines.length === 0) return;
    writes = writes
      .then(() => appendFile(file, `${lines.join('\n')}\n`))
      .catch((error: unknown) => options.onError(error));
  });
  return async () => {
    unsubscribe();
    await writes;
  };
}
