import path from 'node:path';
import { FeedbackBroker, runFileNames } from '@cohort/console';
import type { Scenario } from '@cohort/core';
import type { GrpoTrainer } from '@cohort/trainer';
import type { CliIo } from '../cli-io';
import type { HumanFeedbackLink } from '../training-setup';
import { logTrajectories } from '../trajectory-log';
import { startConsole } from './console-command';

/**
 * What `train` adds for the console: `trajectories.jsonl` (one group of
 * rollouts per step, always), and with `--console` a console server on the
 * run while it trains (it follows `metrics.jsonl` as the trainer appends).
 * With a `human-feedback` reward, a feedback broker on the run directory
 * (ratings in its `feedback.jsonl`, so a resumed run asks nothing twice) is
 * bound to the reward and served on the feedback page, one question per group
 * of `groupSize` replies. `close` stops all of it after the run.
 */
export async function attachTrainingConsole(options: {
  trainer: GrpoTrainer<Scenario>;
  /** Where the rollouts come from when not the trainer itself (a population's members). */
  rolloutEvents?: Pick<GrpoTrainer<Scenario>, 'subscribe'>;
  runDirectory: string;
  console?: { port: number };
  humanFeedback?: { link: HumanFeedbackLink; groupSize: number };
  io: CliIo;
  message: (text: string) => void;
}): Promise<{ close(): Promise<void> }> {
  let reported = false;
  const events = options.rolloutEvents ?? options.trainer;
  const stopLog = logTrajectories({
    trainer: {
      policy: options.trainer.policy,
      subscribe: (listener) => events.subscribe(listener),
    },
    file: path.join(options.runDirectory, runFileNames.trajectories),
    groupsPerStep: 1,
    onError: (error) => {
      if (reported) return;
      reported = true;
      options.message(`warning: cannot write ${runFileNames.trajectories}: ${String(error)}`);
    },
  });
  let broker: FeedbackBroker | undefined;
  if (options.humanFeedback) {
    broker = await FeedbackBroker.open({ runDirectory: options.runDirectory });
    const { groupSize } = options.humanFeedback;
    // A group of one has nobody to be compared with: its reply is asked alone.
    options.humanFeedback.link.ask =
      groupSize >= 2 ? broker.askGroupForFeedback({ groupSize }) : broker.askForFeedback();
  }
  const server = options.console
    ? await startConsole(
        {
          runDirectories: [options.runDirectory],
          port: options.console.port,
          allowEmptyRuns: true,
          ...(broker ? { feedback: [broker] } : {}),
        },
        options.io,
      )
    : undefined;
  if (server) {
    options.message(
      `console: open ${server.url}${broker ? ` (rate replies on ${server.url}#/feedback)` : ''}`,
    );
  }
  return {
    async close() {
      await stopLog();
      if (options.humanFeedback) options.humanFeedback.link.ask = undefined;
      if (server) {
        await server.close();
        options.message(
          `console closed; to keep looking: agent-trainer console ${options.runDirectory}`,
        );
      }
    },
  };
}
