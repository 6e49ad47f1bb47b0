import { type ToolCallErrorKind, type Trajectory, toolCallErrorKinds } from '@cohort/core';

/** Tool use over a batch of trajectories: the metrics a run logs and a console shows. */
export interface ToolCallMetrics {
  episodes: number;
  calls: number;
  /** `calls / episodes` (0 for no episodes). */
  callsPerEpisode: number;
  /** Share of episodes with at least one call. */
  episodesWithCalls: number;
  /** Share of calls that failed, of any kind (0 for no calls). */
  errorRate: number;
  /** Failed calls by kind (malformed, unknown-tool, invalid-arguments, tool-error, timeout). */
  errorsByKind: Record<ToolCallErrorKind, number>;
  /** Calls by tool name (a malformed call counts under `(malformed)`). */
  callsByTool: Record<string, number>;
}

/**
 * Counts the tool calls recorded in trajectories (`trajectory.toolCalls`).
 *
 * @example
 * ```ts
 * const metrics = toolCallMetrics(groups.flatMap((group) => group.trajectories));
 * metrics.errorsByKind.malformed; metrics.callsPerEpisode;
 * ```
 */
export function toolCallMetrics(
  trajectories: readonly Pick<Trajectory, 'toolCalls'>[],
): ToolCallMetrics {
  const errorsByKind = Object.fromEntries(toolCallErrorKinds.map((kind) => [kind, 0])) as Record<
    ToolCallErrorKind,
    number
  >;
  const callsByTool: Record<string, number> = {};
  let calls = 0;
  let failed = 0;
  let withCalls = 0;
  for (const trajectory of trajectories) {
    const records = trajectory.toolCalls ?? [];
    if (records.length > 0) withCalls += 1;
    for (const record of records) {
      calls += 1;
      const name = record.error?.kind === 'malformed' ? '(malformed)' : record.name;
      callsByTool[name] = (callsByTool[name] ?? 0) + 1;
      if (record.error) {
        failed += 1;
        errorsByKind[record.error.kind] += 1;
      }
    }
  }
  const episodes = trajectories.length;
  return {
    episodes,
    calls,
    callsPerEpisode: episodes === 0 ? 0 : calls / episodes,
    episodesWithCalls: episodes === 0 ? 0 : withCalls / episodes,
    errorRate: calls === 0 ? 0 : failed / calls,
    errorsByKind,
    callsByTool,
  };
}
