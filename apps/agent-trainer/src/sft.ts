import { generateDialogues, supportScenarios } from '@cohort/environments';
import {
  type BpeTokenizer,
  createGptModel,
  type Gpt2ConfigInput,
  initializeBackend,
  trainBpeTokenizer,
} from '@cohort/tfjs';
import { exportForTransformersJs, saveHuggingFaceModel } from '@cohort/tfjs/node';
import { evaluateModel } from './evaluate-model';
import { assistantLossMask, degradeDialogues } from './sft-dialogues';
import { trainOnAssistantTokens } from './sft-training-loop';
import { writeTrainingRecord } from './training-record';

/** Options of {@link trainSupportAgent}. */
export interface SftOptions {
  /** Output folder (Hugging Face layout plus `onnx/` for transformers.js). */
  out: string;
  seed: number;
  /** Optimizer steps (default 400). */
  steps?: number;
  /** Generated dialogues (default 600). */
  dialogues?: number;
  /** Tokenizer vocabulary (default 1024). */
  vocabSize?: number;
  /** Sequences per optimizer step (default 8). */
  batchSize?: number;
  /** Model size (default: 2 layers, width 128, 4 heads, context 256). */
  model?: {
    layerCount?: number;
    embeddingSize?: number;
    headCount?: number;
    contextLength?: number;
  };
  /** Held-out scenarios evaluated at the end (default 8; 0 skips). */
  evaluationScenarios?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Progress per step, for bars and JSON output. */
  onStep?: (progress: { step: number; steps: number; loss: number; seconds: number }) => void;
  /** The command line recorded in `training.json`. */
  command?: string;
}

/** What {@link trainSupportAgent} produced (also written to `training.json`). */
export interface SftResult {
  command: string;
  seed: number;
  steps: number;
  dialogues: number;
  degradedDialogues: number;
  degradedTurns: number;
  vocabSize: number;
  model: Gpt2ConfigInput;
  parameterCount: number;
  initialLoss: number;
  finalLoss: number;
  lossHistory: { step: number; loss: number }[];
  heldOut?: { scenarios: number; rewardMean: number; successRate: number };
  backend: string;
  seconds: number;
}

/**
 * Trains the embedded default chat model: generates support dialogues with
 * the scripted good agent, degrades about half of them (so the model is a
 * plausible but imperfect agent that RL can improve), learns a byte-level BPE
 * tokenizer on them, trains a small GPT-2-style model with next-token
 * cross-entropy on the agent's tokens only,
 * `L = -sum_t m_t log p(x_t | x_<t) / sum_t m_t` with `m_t = 1` on assistant
 * tokens (Ouyang et al. 2022, the SFT stage), and writes the model in the
 * Hugging Face layout and as ONNX for transformers.js with a `training.json`.
 * Deterministic for a seed on one backend.
 *
 * @example
 * ```ts
 * const result = await trainSupportAgent({ out: 'models/support-agent-tiny', seed: 0, steps: 50 });
 * result.finalLoss < result.initialLoss; // true
 * ```
 */
export async function trainSupportAgent(options: SftOptions): Promise<SftResult> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const steps = options.steps ?? 400;
  const dialogueCount = options.dialogues ?? 600;
  const batchSize = options.batchSize ?? 8;
  const backend = await initializeBackend({ logger: false });
  log(`backend ${backend.backend}`);

  const scenarios = supportScenarios({ split: 'train' });
  const generated = await generateDialogues({
    scenarios,
    seed: options.seed,
    count: dialogueCount,
  });
  const mixed = degradeDialogues(generated, { seed: options.seed });
  log(
    `${mixed.dialogues.length} dialogues (${mixed.degradedDialogues} with ${mixed.degradedTurns} mediocre agent turns)`,
  );

  const tokenizer: BpeTokenizer = trainBpeTokenizer({
    texts: mixed.dialogues.flatMap((dialogue) => dialogue.map((message) => message.content)),
    vocabSize: options.vocabSize ?? 1024,
  });
  log(`tokenizer: ${tokenizer.vocabSize} tokens`);

  const contextLength = options.model?.contextLength ?? 256;
  const examples = mixed.dialogues
    .map((dialogue) => assistantLossMask(dialogue, tokenizer))
    .map(({ tokenIds, lossMask }) => ({
      tokenIds: tokenIds.slice(0, contextLength),
      lossMask: lossMask.slice(0, contextLength),
    }))
    .filter((example) => example.lossMask.some((value) => value === 1));
  const meanLength =
    examples.reduce((sum, example) => sum + example.tokenIds.length, 0) / examples.length;
  log(`${examples.length} training sequences, mean length ${meanLength.toFixed(0)} tokens`);

  const config: Gpt2ConfigInput = {
    vocabSize: tokenizer.vocabSize,
    contextLength,
    embeddingSize: options.model?.embeddingSize ?? 128,
    layerCount: options.model?.layerCount ?? 2,
    headCount: options.model?.headCount ?? 4,
    bosTokenId: tokenizer.eosTokenId,
    eosTokenId: tokenizer.eosTokenId,
  };
  const model = createGptModel({ config, seed: options.seed });
  log(`model: ${model.parameterCount()} parameters`);
  const { initialLoss, lossHistory } = await trainOnAssistantTokens({
    model,
    examples,
    padTokenId: tokenizer.padTokenId,
    steps,
    batchSize,
    seed: options.seed,
    learningRate: 3e-3,
    started,
    ...(options.onStep ? { onStep: options.onStep } : {}),
  });

  const weights = model.getWeights();
  await saveHuggingFaceModel(options.out, {
    config: model.config,
    weights,
    tokenizerFiles: tokenizer.toFiles(),
  });
  await exportForTransformersJs(options.out, { config: model.config, weights, tokenizer });
  log(`wrote ${options.out} (Hugging Face layout and onnx/model.onnx)`);

  let heldOut: SftResult['heldOut'];
  const evaluationCount = options.evaluationScenarios ?? 8;
  if (evaluationCount > 0) {
    const evaluation = await evaluateModel({
      model,
      tokenizer,
      scenarios: supportScenarios({ split: 'eval' }).slice(0, evaluationCount),
      seed: options.seed,
    });
    heldOut = {
      scenarios: evaluation.length,
      rewardMean: evaluation.reduce((sum, entry) => sum + entry.reward, 0) / evaluation.length,
      successRate:
        evaluation.filter((entry) => entry.endReason === 'success').length / evaluation.length,
    };
    log(
      `held-out: reward ${heldOut.rewardMean.toFixed(3)}, success rate ${heldOut.successRate.toFixed(2)} (greedy, ${evaluation.length} scenarios)`,
    );
  }
  model.dispose();

  return writeTrainingRecord({
    out: options.out,
    head: {
      command:
        options.command ??
        `agent-trainer sft --seed ${options.seed} --steps ${steps} --dialogues ${dialogueCount}`,
      seed: options.seed,
      steps,
      dialogues: dialogueCount,
      degradedDialogues: mixed.degradedDialogues,
      degradedTurns: mixed.degradedTurns,
      vocabSize: tokenizer.vocabSize,
      model: config,
      parameterCount: Object.values(weights).reduce((sum, tensor) => sum + tensor.data.length, 0),
    },
    training: { initialLoss, lossHistory },
    tail: heldOut ? { heldOut } : {},
    backend: backend.backend,
    started,
  });
}
