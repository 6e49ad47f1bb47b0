import { UsageError } from './exit-codes';

/** The commands that read a run's trained policy. */
export type RunPolicyCommand = 'chat' | 'export' | 'eval' | 'console chat';

const why: Record<string, string> = {
  'candidate-selector':
    'a frozen language model proposes K replies and a small actor picks one, so its checkpoints hold the actor and critic, not a language model to talk to, export or evaluate; its figures are in summary.json, choices.jsonl and report.html (agent-trainer report)',
  proxy:
    'its small tfjs delta is added to a frozen transformers.js model at sampling time, so there is no single model folder to write; chat with the run (agent-trainer chat --run-dir) or evaluate it (agent-trainer eval --run-dir) instead',
};

/**
 * A command refused a run because of the policy type the run trained: the
 * run, the type and the command are fields, and the message says why and
 * what to do instead. Exits with code 2, like every {@link UsageError}.
 *
 * @example
 * ```ts
 * throw new RunPolicyError({ runDirectory: 'runs/x', policyType: 'candidate-selector', command: 'eval' });
 * ```
 */
export class RunPolicyError extends UsageError {
  readonly runDirectory: string;
  readonly policyType: string;
  readonly command: RunPolicyCommand;

  constructor(options: { runDirectory: string; policyType: string; command: RunPolicyCommand }) {
    super(
      `run ${options.runDirectory} trained a ${options.policyType} policy, which "agent-trainer ${options.command}" does not support: ${why[options.policyType] ?? 'the command reads language-model weights'}`,
    );
    this.runDirectory = options.runDirectory;
    this.policyType = options.policyType;
    this.command = options.command;
  }
}
