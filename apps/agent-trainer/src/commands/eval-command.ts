import { supportScenarios } from '@cohort/environments';
import { initializeBackend } from '@cohort/tfjs';
import type { CliIo } from '../cli-io';
import type { EvalCommand } from '../command-line';
import { evaluateModel } from '../evaluate-model';
import { type ExitCode, exitCodes } from '../exit-codes';
import { loadModelSource } from './model-source';

/** `agent-trainer eval`: held-out evaluation, greedy, one conversation per scenario, printed as a table. */
export async function evalCommand(command: EvalCommand, io: CliIo): Promise<ExitCode> {
  await initializeBackend({ logger: false });
  const source = await loadModelSource(command);
  const all = supportScenarios({ split: 'eval' });
  const scenarios = command.scenarios === undefined ? all : all.slice(0, command.scenarios);
  const results = await evaluateModel({
    model: source.model,
    tokenizer: source.tokenizer,
    scenarios,
    seed: command.seed,
    ...(source.systemPrompt ? { systemPrompt: source.systemPrompt } : {}),
  });
  const rewardMean =
    results.reduce((sum, entry) => sum + entry.reward, 0) / Math.max(1, results.length);
  const successRate =
    results.filter((entry) => entry.endReason === 'success').length / Math.max(1, results.length);
  if (command.json) {
    for (const entry of results) {
      io.stdout.write(
        `${JSON.stringify({ type: 'episode', scenarioId: entry.scenarioId, reward: entry.reward, endReason: entry.endReason })}\n`,
      );
    }
    io.stdout.write(
      `${JSON.stringify({ type: 'summary', episodes: results.length, rewardMean, successRate, checkpoint: source.checkpoint ?? null })}\n`,
    );
    return exitCodes.ok;
  }
  const width = Math.max(8, ...results.map((entry) => entry.scenarioId.length));
  const lines = [
    `${'scenario'.padEnd(width)}  reward  ended by`,
    `${'-'.repeat(width)}  ------  ----------`,
  ];
  for (const entry of results)
    lines.push(
      `${entry.scenarioId.padEnd(width)}  ${entry.reward.toFixed(3).padStart(6)}  ${entry.endReason}`,
    );
  lines.push(`${'-'.repeat(width)}  ------  ----------`);
  lines.push(
    `${'mean'.padEnd(width)}  ${rewardMean.toFixed(3).padStart(6)}  success rate ${successRate.toFixed(2)} over ${results.length} scenarios`,
  );
  if (source.checkpoint) lines.push(`weights: ${source.checkpoint}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return exitCodes.ok;
}
