import path from 'node:path';
import { runFileNames } from '@cohort/console';
import type { Scenario } from '@cohort/core';
import type { GrpoTrainer } from '@cohort/trainer';
import type { CliIo } from '../cli-io';
import { logTrajectories } from '../trajectory-log';
import { startConsole } from './console-command';

/**
 * What `train` adds for the console: `trajectories.jsonl` (one group of
 * rollouts per step, always), and with `--console` a console server on the
 * run while it trains (it follows `metrics.jsonl` as the trainer appends).
 * `close` stops both after the run.
 */
export async function attachTrainingConsole(options: {
  trainer: GrpoTrainer<Scenario>;
  runDirectory: string;
  console?: { port: number };
  io: CliIo;
  message: (text: string) => void;
}): Promise<{ close(): Promise<void> }> {
  let reported = false;
  const stopLog = logTrajectories({
    trainer: options.trainer,
    file: path.join(options.runDirectory, runFileNames.trajectories),
    groupsPerStep: 1,
    onError: (error) => {
      if (reported) return;
      reported = true;
      options.message(`warning: cannot write ${runFileNames.trajectories}: ${String(error)}`);
    },
  });
  const server = options.console
    ? await startConsole(
        {
          runDirectories: [options.runDirectory],
          port: options.console.port,
          allowEmptyRuns: true,
        },
        options.io,
      )
    : undefined;
  if (server) options.message(`console: open ${server.url}`);
  return {
    async close() {
      await stopLog();
      if (server) {
        await server.close();
        options.message(
          `console closed; to keep looking: agent-trainer console ${options.runDirectory}`,
        );
      }
    },
  };
}
