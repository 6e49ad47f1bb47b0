import path from 'node:path';
import { defaultModelDirectory } from '../app-config';
import type { CliIo } from '../cli-io';
import type { SftCommand } from '../command-line';
import { type ExitCode, exitCodes, UsageError } from '../exit-codes';
import { formatDuration } from '../progress';
import { type SftOptions, trainSupportAgent } from '../sft';
import { trainToolAgent } from '../sft-tool-agent';

/** Where `sft --family llama` writes by default: beside the embedded model. */
const defaultToolAgentDirectory = path.join(
  path.dirname(defaultModelDirectory),
  'support-desk-llama',
);

/**
 * `agent-trainer sft`: trains the embedded default chat model, or with
 * `--family llama` the Llama-family support-desk tool agent.
 */
export async function sftCommand(command: SftCommand, io: CliIo): Promise<ExitCode> {
  const llama = command.family === 'llama';
  const llamaOnly = {
    '--hidden-size': command.hiddenSize,
    '--layers': command.layers,
    '--batch-size': command.batchSize,
    '--learning-rate': command.learningRate,
    '--probe-every': command.probeEvery,
    '--loss-on': command.lossOn,
    '--copy-curriculum-steps': command.copyCurriculumSteps,
    '--copy-warmup-steps': command.copyWarmupSteps,
    '--induction-steps': command.inductionSteps,
    '--induction-tokens': command.inductionTokens,
    '--copy-curriculum-numbers': command.copyCurriculumNumbers,
    '--copy-curriculum-repeat-share': command.copyCurriculumRepeatShare,
    '--copy-curriculum-email-share': command.copyCurriculumEmailShare,
    '--dialogue-curriculum-share': command.dialogueCurriculumShare,
    '--recovery-share': command.recoveryShare,
    '--digit-pairs': command.digitPairs,
    '--separate-spaces': command.separateSpaces,
    '--copy-loss-weight': command.copyLossWeight,
    '--decision-loss-weight': command.decisionLossWeight,
    '--random-products': command.randomProducts,
    '--random-policies': command.randomPolicies,
    '--random-prices': command.randomPrices,
    '--decision-basis': command.decisionBasis,
    '--engine': command.engine,
  };
  const refused = Object.entries(llamaOnly).find(([, value]) => value !== undefined);
  if (!llama && refused)
    throw new UsageError(`${refused[0]} ${refused[1]} applies only to sft --family llama`);
  const out = command.out ?? (llama ? defaultToolAgentDirectory : defaultModelDirectory);
  const parts = [
    'agent-trainer sft',
    ...(llama ? ['--family llama'] : []),
    `--seed ${command.seed}`,
  ];
  if (command.steps !== undefined) parts.push(`--steps ${command.steps}`);
  if (command.dialogues !== undefined) parts.push(`--dialogues ${command.dialogues}`);
  if (command.vocabSize !== undefined) parts.push(`--vocab-size ${command.vocabSize}`);
  for (const [flag, value] of Object.entries(llamaOnly))
    if (value === true) parts.push(flag);
    else if (value !== undefined) parts.push(`${flag} ${value}`);
  const live = !command.json && io.stderr.isTTY === true;
  const shared: SftOptions = {
    out,
    seed: command.seed,
    ...(command.steps !== undefined ? { steps: command.steps } : {}),
    ...(command.vocabSize !== undefined ? { vocabSize: command.vocabSize } : {}),
    command: parts.join(' '),
    log: (line) => {
      if (command.json) io.stdout.write(`${JSON.stringify({ type: 'log', message: line })}\n`);
      else io.stderr.write(`${live ? '\r\x1b[2K' : ''}${line}\n`);
    },
    onStep: ({ step, steps, loss, seconds }) => {
      if (command.json) {
        if (step % 10 === 0 || step === steps)
          io.stdout.write(`${JSON.stringify({ type: 'step', step, steps, loss })}\n`);
        return;
      }
      const eta = formatDuration((seconds / step) * (steps - step));
      if (live)
        io.stderr.write(`\r\x1b[2Ksft step ${step}/${steps} loss ${loss.toFixed(3)} ETA ${eta}`);
      else if (step % 25 === 0 || step === steps)
        io.stderr.write(`sft step ${step}/${steps} loss ${loss.toFixed(3)} ETA ${eta}\n`);
    },
  };
  const result = llama
    ? await trainToolAgent({
        ...shared,
        ...(command.dialogues !== undefined ? { tasks: command.dialogues } : {}),
        ...(command.batchSize !== undefined ? { batchSize: command.batchSize } : {}),
        ...(command.learningRate !== undefined ? { learningRate: command.learningRate } : {}),
        ...(command.probeEvery !== undefined ? { probeEvery: command.probeEvery } : {}),
        ...(command.lossOn !== undefined ? { lossOn: command.lossOn } : {}),
        ...(command.copyCurriculumSteps !== undefined
          ? { copyCurriculumSteps: command.copyCurriculumSteps }
          : {}),
        ...(command.copyWarmupSteps !== undefined
          ? { copyWarmupSteps: command.copyWarmupSteps }
          : {}),
        ...(command.inductionSteps !== undefined ? { inductionSteps: command.inductionSteps } : {}),
        ...(command.inductionTokens !== undefined
          ? { inductionTokens: command.inductionTokens }
          : {}),
        ...(command.copyCurriculumNumbers !== undefined
          ? { copyCurriculumNumbers: command.copyCurriculumNumbers }
          : {}),
        ...(command.copyCurriculumRepeatShare !== undefined
          ? { copyCurriculumRepeatShare: command.copyCurriculumRepeatShare }
          : {}),
        ...(command.copyCurriculumEmailShare !== undefined
          ? { copyCurriculumEmailShare: command.copyCurriculumEmailShare }
          : {}),
        ...(command.dialogueCurriculumShare !== undefined
          ? { dialogueCurriculumShare: command.dialogueCurriculumShare }
          : {}),
        ...(command.recoveryShare !== undefined ? { recoveryShare: command.recoveryShare } : {}),
        ...(command.digitPairs !== undefined ? { digitPairs: command.digitPairs } : {}),
        ...(command.separateSpaces !== undefined ? { separateSpaces: command.separateSpaces } : {}),
        ...(command.copyLossWeight !== undefined ? { copyLossWeight: command.copyLossWeight } : {}),
        ...(command.randomProducts !== undefined ? { randomProducts: command.randomProducts } : {}),
        ...(command.randomPolicies !== undefined ? { randomPolicies: command.randomPolicies } : {}),
        ...(command.randomPrices !== undefined ? { randomPrices: command.randomPrices } : {}),
        ...(command.decisionBasis !== undefined ? { decisionBasis: command.decisionBasis } : {}),
        ...(command.decisionLossWeight !== undefined
          ? { decisionLossWeight: command.decisionLossWeight }
          : {}),
        ...(command.engine !== undefined ? { engine: command.engine } : {}),
        model: {
          ...(command.hiddenSize !== undefined
            ? {
                hiddenSize: command.hiddenSize,
                intermediateSize: Math.round((command.hiddenSize * 2.75) / 8) * 8,
              }
            : {}),
          ...(command.layers !== undefined ? { layerCount: command.layers } : {}),
        },
      })
    : await trainSupportAgent({
        ...shared,
        ...(command.dialogues !== undefined ? { dialogues: command.dialogues } : {}),
      });
  if (live) io.stderr.write('\r\x1b[2K');
  if (command.json) io.stdout.write(`${JSON.stringify({ type: 'summary', out, ...result })}\n`);
  else
    io.stderr.write(
      `done: loss ${result.initialLoss.toFixed(3)} -> ${result.finalLoss.toFixed(3)} in ${formatDuration(result.seconds)}; ${result.parameterCount} parameters; wrote ${out}\n`,
    );
  return exitCodes.ok;
}
