import { appendFile } from 'node:fs/promises';
import { trajectoryLine } from '@cohort/console';
import type { TrajectoryGroup } from '@cohort/core';
import type { GrpoTrainer, ScenarioLike, TrajectoryRecord } from '@cohort/trainer';

/** Digits kept of each per-token number: what the viewer's hover shows; a token takes ~91 bytes instead of ~140 at full precision. */
const significantDigits = 4;

/**
 * Appends the rollouts of each training step to `trajectories.jsonl` for the
 * console's trajectory viewer: the first `groupsPerStep` groups of every
 * step (a group is the G answers to one scenario, so the viewer can compare
 * them), with each agent token as sampled, decoded on its own, its behaviour
 * log-prob, and what the learner made of it (the trainer's
 * `trajectory-records` event): the advantage, the KL to the reference (when
 * the KL term is on) and the policy's entropy at that position, each to 4
 * significant digits. A group the learner did not use (refused as stale, or a
 * step that failed after sampling) is written with log-probs only. Steps are
 * numbered as in `metrics.jsonl` (the step the rollouts train). Returns the
 * function that stops logging and waits for the last write.
 *
 * @example
 * ```ts
 * const stop = logTrajectories({ trainer, file: 'runs/x/trajectories.jsonl', groupsPerStep: 1, onError: console.error });
 * ```
 */
export function logTrajectories(options: {
  trainer: Pick<GrpoTrainer<ScenarioLike>, 'policy' | 'subscribe'>;
  file: string;
  groupsPerStep: number;
  onError: (error: unknown) => void;
}): () => Promise<void> {
  const { trainer, file } = options;
  const tokenizer = trainer.policy.tokenizer;
  let writes: Promise<void> = Promise.resolve();
  // The sampled groups of the step in progress, until the learner's records for them arrive.
  let sampled: { step: number; groups: TrajectoryGroup[] } | undefined;

  const write = (
    step: number,
    groups: readonly TrajectoryGroup[],
    records: ReadonlyMap<string, TrajectoryRecord>,
  ) => {
    const lines = groups.flatMap((group) =>
      group.trajectories.map((trajectory) => {
        const record = records.get(trajectory.id);
        return JSON.stringify(
          trajectoryLine({
            step,
            groupId: group.groupId,
            trajectory,
            decodeToken: (id) => tokenizer.decode([id]),
            significantDigits,
            ...(record
              ? {
                  perToken: {
                    advantagesPerToken: record.advantagesPerToken,
                    ...(record.klPerToken.length > 0 ? { klPerToken: record.klPerToken } : {}),
                    ...(record.entropyPerToken.length > 0
                      ? { entropyPerToken: record.entropyPerToken }
                      : {}),
                  },
                }
              : {}),
          }),
        );
      }),
    );
    if (lines.length === 0) return;
    writes = writes
      .then(() => appendFile(file, `${lines.join('\n')}\n`))
      .catch((error: unknown) => options.onError(error));
  };

  const flushUnlearned = () => {
    if (sampled) write(sampled.step, sampled.groups, new Map());
    sampled = undefined;
  };

  const unsubscribe = trainer.subscribe((event) => {
    if (event.type === 'rollouts') {
      flushUnlearned();
      const groups = event.groups.slice(0, options.groupsPerStep);
      if (groups.length > 0) sampled = { step: event.step + 1, groups };
    } else if (event.type === 'trajectory-records') {
      if (!sampled) return;
      const records = new Map(event.records.map((record) => [record.trajectoryId, record]));
      write(sampled.step, sampled.groups, records);
      sampled = undefined;
    }
  });
  return async () => {
    unsubscribe();
    flushUnlearned();
    await writes;
  };
}
