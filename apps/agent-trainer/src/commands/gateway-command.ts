import { randomBytes } from 'node:crypto';
import type { Scenario } from '@cohort/core';
import {
  createGatewayRolloutSource,
  createRolloutGateway,
  type RolloutGateway,
} from '@cohort/gateway';
import type { AppConfig } from '../app-config';
import type { CliIo } from '../cli-io';
import type { GatewayCommand } from '../command-line';
import { engineWarnings } from '../engine-setup';
import { type ExitCode, UsageError } from '../exit-codes';
import type { ProgressDisplay } from '../progress';
import { claimRunDirectory } from '../run-directory';
import { checkRunFits } from '../run-preflight';
import { createTrainer, type TrainerParts } from '../training-setup';
import { resolveConfig, trainInDirectory } from './train-command';

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

/** The key the gateway asks for: the given one; off loopback a generated one; on loopback none. */
export function gatewayApiKey(host: string, given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  return loopbackHosts.has(host) ? undefined : `sk-cohort-${randomBytes(24).toString('hex')}`;
}

/** How the policy of a config writes and reads tools behind the gateway: the support desk's settings, else the gateway's. */
function toolSettings(config: AppConfig) {
  return config.environment.type === 'support-desk'
    ? {
        toolCallFormat: config.environment.format,
        toolPromptStyle: config.environment.toolPrompt,
      }
    : {};
}

/** What the config asks for that a gateway run cannot do, as usage errors (before anything is created). */
function refusals(config: AppConfig): void {
  if (config.rewards.some((reward) => reward.type === 'human-feedback')) {
    throw new UsageError(
      'reward "human-feedback" asks a person about groups the trainer runs; under the gateway your agent posts the rewards: drop it from rewards',
    );
  }
  if (config.population) {
    throw new UsageError(
      'a population (config population:) trains its members in turn on rollouts the trainer runs; under the gateway one policy serves your agent: drop population from the config',
    );
  }
}

/**
 * `agent-trainer gateway`: builds the trainer of a config like `train`, but
 * its training rollouts come from a {@link RolloutGateway} serving the
 * policy: the user's agent program takes tasks (`POST /v1/tasks/next`),
 * calls `/v1/chat/completions` with the task's episode id and posts each
 * episode's reward. Prints the base URL and the API key to use; writes the
 * same run directory, checkpoints, summary and report as `train`, and
 * resumes with `--resume`. Ctrl-C stops waiting for the current step's
 * episodes (they count as timed out), saves a checkpoint and exits 130. At
 * the end the gateway answers `done: true` to `tasks/next` and closes.
 */
export async function gatewayCommand(command: GatewayCommand, io: CliIo): Promise<ExitCode> {
  const config = await resolveConfig(command);
  refusals(config);
  const apiKey = gatewayApiKey(command.host, command.apiKey);
  let gateway: RolloutGateway | undefined;
  let parts: TrainerParts | undefined;
  try {
    const trainer = await createTrainer({
      config,
      ...(command.verbose ? { log: (line: string) => io.stderr.write(`${line}\n`) } : {}),
      onParts: (built) => {
        parts = built;
      },
      rolloutSource: async (samplingPolicy) => {
        gateway = await createRolloutGateway({
          policy: samplingPolicy,
          contextLength: config.trainer.maxSequenceLength,
          defaultMaxTokens: config.trainer.generation.maxNewTokens,
          modelName: command.servedModel,
          host: command.host,
          port: command.port,
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...toolSettings(config),
        });
        return createGatewayRolloutSource<Scenario>({
          gateway,
          groupTimeoutMs: command.groupTimeoutSeconds * 1000,
        });
      },
    });
    const served = gateway!;
    const warnings = [
      ...engineWarnings(config),
      ...(await checkRunFits({ config, trainer, parts: parts! })),
      ...(config.rewards.length > 0
        ? [
            `the config's rewards (${config.rewards.map((reward) => reward.type).join(', ')}) score held-out evaluation only: training rewards are the ones your agent posts`,
          ]
        : []),
    ];
    const { paths, lock } = await claimRunDirectory(command, config.name);
    // Ctrl-C while the step waits for an agent that may never come: stop waiting (the step's groups count as timed out).
    const removeInterrupt = io.onInterrupt(() => {
      served.stopWaiting();
      removeInterrupt();
    });
    try {
      return await trainInDirectory({
        command,
        io,
        config,
        trainer,
        parts: parts!,
        paths,
        warnings,
        humanFeedback: undefined,
        external: {
          evolutionOff: 'under the gateway your agent program writes its own prompts',
          announce: (progress: ProgressDisplay) => {
            const baseUrl = `${served.url}/v1`;
            progress.message(
              `gateway: base URL ${baseUrl}, model ${command.servedModel}, API key ${apiKey ?? '(none needed on loopback)'}`,
            );
            progress.message(
              `gateway: ${config.trainer.groupSize} episodes per scenario, ${config.trainer.scenariosPerStep} scenarios per step: take tasks with POST ${baseUrl}/tasks/next, send the task's episode_id as the x-episode-id header, post {"reward": R} to ${baseUrl}/episodes/EPISODE_ID/reward`,
            );
            progress.emitJson({
              type: 'gateway',
              baseUrl,
              model: command.servedModel,
              apiKey: apiKey ?? null,
            });
          },
        },
      });
    } finally {
      removeInterrupt();
      await lock.release();
    }
  } finally {
    await gateway?.close();
  }
}
