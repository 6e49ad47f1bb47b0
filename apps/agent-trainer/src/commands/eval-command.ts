import { evaluateStratified } from '@cohort/trainer';
import { resolveAppConfig } from '../app-config';
import type { CliIo } from '../cli-io';
import type { EvalCommand } from '../command-line';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { assertRunModulesTrusted, readRunConfig } from '../run-config';
import { RunPolicyError } from '../run-policy-error';
import { loadRunWeights } from '../run-weights';
import { supportDeskUserSummaryLines } from '../support-desk-user-setup';
import { createTrainer, humanFeedbackRewardName, type TrainerParts } from '../training-setup';

/**
 * `agent-trainer eval`: held-out evaluation of a run's newest weights (or of
 * a model folder, as the default run would start from it) with the run's own
 * environment, rewards and evaluation settings, so its figures are on the
 * scale `train` reports: every category (stratified), each scenario, and 95%
 * stratified bootstrap intervals.
 */
export async function evalCommand(command: EvalCommand, io: CliIo): Promise<ExitCode> {
  let config: ReturnType<typeof resolveAppConfig>;
  if (command.runDirectory !== undefined) {
    config = await readRunConfig(command.runDirectory);
    if (config.policy.type === 'candidate-selector') {
      throw new RunPolicyError({
        runDirectory: command.runDirectory,
        policyType: config.policy.type,
        command: 'eval',
      });
    }
    assertRunModulesTrusted({
      config,
      runDirectory: command.runDirectory,
      trusted: command.trustRunModules,
    });
  } else {
    config = resolveAppConfig({ policy: { type: 'tfjs-lm', modelDirectory: command.model } });
  }
  let parts: TrainerParts | undefined;
  const trainer = await createTrainer({
    config,
    ...(command.verbose ? { log: (line: string) => io.stderr.write(`${line}\n`) } : {}),
    onParts: (built) => {
      parts = built;
    },
  });
  if (parts!.evalScenarios.length === 0) {
    throw new UsageError('the environment has no held-out scenarios to evaluate on');
  }
  const checkpoint =
    command.runDirectory !== undefined
      ? await loadRunWeights(trainer, command.runDirectory)
      : undefined;
  const metrics = await evaluateStratified(trainer, {
    environment: parts!.environment,
    // A person is asked only about training groups (`train --console`), never in an evaluation.
    rewards: parts!.rewards.filter(({ reward }) => reward.name !== humanFeedbackRewardName),
    scenarios: parts!.evalScenarios,
    maxScenarios: command.scenarios ?? 0,
    ...(command.seed !== undefined ? { seed: command.seed } : {}),
  });
  if (command.json) {
    for (const entry of metrics.perScenario)
      io.stdout.write(`${JSON.stringify({ type: 'scenario', ...entry })}\n`);
    const { samples, perScenario, ...figures } = metrics;
    const customer = parts!.customer?.user?.counts();
    io.stdout.write(
      `${JSON.stringify({ type: 'summary', ...figures, checkpoint: checkpoint ?? null, ...(customer ? { userSimulator: customer } : {}) })}\n`,
    );
    return exitCodes.ok;
  }
  const width = Math.max(8, ...metrics.perScenario.map((entry) => entry.scenarioId.length));
  const lines = [
    `${'scenario'.padEnd(width)}  ${'category'.padEnd(10)}  reward  success`,
    `${'-'.repeat(width)}  ${'-'.repeat(10)}  ------  -------`,
  ];
  for (const entry of metrics.perScenario) {
    lines.push(
      `${entry.scenarioId.padEnd(width)}  ${entry.category.padEnd(10)}  ${entry.reward.toFixed(3).padStart(6)}  ${entry.success.toFixed(2).padStart(7)}`,
    );
  }
  lines.push(`${'-'.repeat(width)}  ${'-'.repeat(10)}  ------  -------`);
  for (const [category, figures] of Object.entries(metrics.byCategory)) {
    lines.push(
      `${category.padEnd(width)}  ${`${figures.scenarios} scen.`.padEnd(10)}  ${figures.rewardMean.toFixed(3).padStart(6)}  ${figures.successRate.toFixed(2).padStart(7)}  reward 95% [${figures.rewardInterval[0].toFixed(3)}, ${figures.rewardInterval[1].toFixed(3)}]`,
    );
  }
  lines.push(
    `${'all'.padEnd(width)}  ${`${metrics.scenarios} scen.`.padEnd(10)}  ${metrics.rewardMean.toFixed(3).padStart(6)}  ${metrics.successRate.toFixed(2).padStart(7)}  reward 95% [${metrics.rewardInterval[0].toFixed(3)}, ${metrics.rewardInterval[1].toFixed(3)}], success 95% [${metrics.successInterval[0].toFixed(2)}, ${metrics.successInterval[1].toFixed(2)}], ${metrics.episodes} episodes`,
  );
  const customer = parts!.customer?.user?.counts();
  if (customer) lines.push(...supportDeskUserSummaryLines(customer));
  lines.push(
    `weights: ${checkpoint ?? command.model ?? 'the run has no checkpoint: initial weights'}`,
  );
  io.stdout.write(`${lines.join('\n')}\n`);
  return exitCodes.ok;
}
