import {
  assertInteger,
  InvalidArgumentError,
  type ReferenceModel,
  type RefreshableReferenceModel,
  type TokenLogProbsRequest,
} from '@cohort/core';
import { LlamaModel, type WeightMap } from '@cohort/tfjs';
import type * as ort from 'onnxruntime-node';
import {
  createDecoderSession,
  defaultIntraOpThreads,
  exportDecoder,
  type OnnxExportableModel,
  runDecoder,
} from './onnx-decoder-session';
import { consecutiveRuns } from './sequence-runs';
import { logProbsOfSequence, validateScoringRequest } from './transformers-reference-model';

/** Options of {@link createOnnxReferenceModel}. */
export interface OnnxReferenceModelOptions {
  /**
   * The frozen reference as a tfjs model: a GPT-2 or full-fine-tuning Llama
   * copy, or the LoRA policy's own model, whose base (adapters off) is exported.
   */
  model: OnnxExportableModel;
  /** Id put in padding positions (right padding: never attended to by a real position). Default: the model's EOS id. */
  padTokenId?: number;
  /** Sequences per ONNX forward pass at most. Default 16. */
  batchSize?: number;
  /**
   * Rows x (their longest length)^2 per forward pass at most (at least one
   * sequence per pass): attention holds that many scores per head and
   * layer, so long sequences run fewer at a time. Default 2^21: the default
   * run's batches of 8 x <= 256 tokens still run at once; a tool agent's
   * 1500-token episodes run one by one. Measured on such a GRPO run (context
   * 2048, 16 episodes a step): 2 sequences per pass instead of 16 cut the
   * run's peak RSS from 2.9 to 2.0 GB, and the reference's time per step from
   * 0.75-1.8 s to 0.44-0.81 s.
   */
  maxTokenPairsPerRun?: number;
  /**
   * ONNX Runtime threads per forward pass, the calling thread included; 0:
   * ONNX Runtime's default, one per core with the extra threads pinned to
   * cores. Default: 1 under 1M parameters, else 0 (`defaultIntraOpThreads`,
   * measured in bench/onnx-threads.ts).
   */
  intraOpNumThreads?: number;
}

/**
 * Consecutive runs `[start, end)` of `lengths`: each at most `batchSize`
 * sequences, and `rows x longest^2` at most `maxTokenPairs` unless one
 * sequence alone exceeds it.
 */
export function referenceRuns(
  lengths: readonly number[],
  batchSize: number,
  maxTokenPairs: number,
): [number, number][] {
  return consecutiveRuns(
    lengths,
    batchSize,
    (rows, longest) => rows * longest * longest,
    maxTokenPairs,
  );
}

/**
 * The frozen KL reference scored on ONNX Runtime: the tfjs reference model is
 * exported once to an ONNX decoder graph ({@link exportDecoder}; a LoRA
 * model's base with its adapters off) and
 * `result[i][t] = log softmax(z_{t-1} / T)[x_t]` (0 at t = 0) comes from one
 * forward pass per run of sequences (at most `batchSize`, fewer when long:
 * `maxTokenPairsPerRun`), right-padded. The values equal the
 * tfjs reference's up to float32 rounding (the test's tolerance is 1e-4 per
 * token). Created by {@link createOnnxReferenceModel}.
 *
 * @example
 * ```ts
 * const reference = await createOnnxReferenceModel({ model: gptReference.model });
 * const [logProbs] = await reference.referenceLogProbs({ sequences: [[...prompt, ...completion]] });
 * ```
 */
export class OnnxReferenceModel implements ReferenceModel {
  readonly model: OnnxExportableModel;
  protected readonly padTokenId: number;
  private readonly batchSize: number;
  private readonly maxTokenPairsPerRun: number;
  /** ONNX Runtime threads of the session (0: ONNX Runtime's default). */
  readonly intraOpNumThreads: number;
  private session: ort.InferenceSession | undefined;
  private exports = 0;

  constructor(options: OnnxReferenceModelOptions) {
    this.model = options.model;
    this.padTokenId = options.padTokenId ?? options.model.config.eosTokenId;
    this.batchSize = options.batchSize ?? 16;
    assertInteger('batchSize', this.batchSize, 1);
    this.maxTokenPairsPerRun = options.maxTokenPairsPerRun ?? 2 ** 21;
    assertInteger('maxTokenPairsPerRun', this.maxTokenPairsPerRun, 1);
    this.intraOpNumThreads =
      options.intraOpNumThreads ?? defaultIntraOpThreads(this.model, 'reference');
    assertInteger('intraOpNumThreads', this.intraOpNumThreads, 0);
    assertInteger('padTokenId', this.padTokenId, 0);
    if (this.padTokenId >= options.model.config.vocabSize) {
      throw new InvalidArgumentError({
        argument: 'padTokenId',
        value: this.padTokenId,
        message: `must be an id in [0, ${options.model.config.vocabSize})`,
      });
    }
  }

  /** How many times the weights were exported to ONNX (1 after creation; +1 after each `setWeights`). */
  get exportCount(): number {
    return this.exports;
  }

  /** Exports the reference weights and opens a session on them, releasing the previous one. */
  async export(): Promise<void> {
    // One large batch per training step: no arena keeping its buffers between steps.
    const session = await createDecoderSession(exportDecoder(this.model, 'off'), {
      memoryArena: false,
      intraOpNumThreads: this.intraOpNumThreads,
    });
    await this.session?.release();
    this.session = session;
    this.exports++;
  }

  /** Marks the exported graph stale, so the next scoring exports the weights again. */
  protected invalidate(): void {
    const session = this.session;
    this.session = undefined;
    void session?.release();
  }

  async referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]> {
    const temperature = validateScoringRequest(request);
    const { vocabSize, contextLength } = this.model.config;
    request.sequences.forEach((sequence, index) => {
      if (sequence.length > contextLength) {
        throw new InvalidArgumentError({
          argument: `sequences[${index}]`,
          value: sequence.length,
          message: `has more tokens than the model's context length ${contextLength}`,
        });
      }
      sequence.forEach((id, position) => {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new InvalidArgumentError({
            argument: `sequences[${index}][${position}]`,
            value: id,
            message: `must be a token id in [0, ${vocabSize})`,
          });
        }
      });
    });
    if (request.sequences.length === 0) return [];
    if (this.session === undefined) await this.export();
    const session = this.session as ort.InferenceSession;
    const output: number[][] = [];
    const runs = referenceRuns(
      request.sequences.map((sequence) => sequence.length),
      this.batchSize,
      this.maxTokenPairsPerRun,
    );
    for (const [start, end] of runs) {
      const sequences = request.sequences.slice(start, end);
      const width = Math.max(...sequences.map((sequence) => sequence.length));
      const pad = (sequence: readonly number[], value: number): number[] => [
        ...sequence,
        ...new Array<number>(width - sequence.length).fill(value),
      ];
      const { logits } = await runDecoder({
        session,
        model: this.model,
        tokenIds: sequences.map((sequence) => pad(sequence, this.padTokenId)),
        attentionMask: sequences.map((sequence) =>
          pad(
            sequence.map(() => 1),
            0,
          ),
        ),
        positionIds: sequences.map(() => Array.from({ length: width }, (_, t) => t)),
      });
      sequences.forEach((sequence, row) => {
        output.push(
          logProbsOfSequence(
            sequence,
            logits.subarray(row * width * vocabSize, (row + 1) * width * vocabSize),
            vocabSize,
            temperature,
          ),
        );
      });
    }
    return output;
  }

  /** Releases the ONNX Runtime session. */
  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

/**
 * An {@link OnnxReferenceModel} over a frozen copy (GPT-2, or a Llama-family
 * model without adapters) whose weights a reference refresh replaces: the
 * tfjs copy keeps them, and the next scoring exports them again.
 */
export class RefreshableOnnxReferenceModel
  extends OnnxReferenceModel
  implements RefreshableReferenceModel<WeightMap>
{
  getWeights(): WeightMap {
    return this.model.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.model.setWeights(weights);
    this.invalidate();
  }
}

/**
 * Scores the KL reference on ONNX Runtime: exports `model` once and returns an
 * {@link OnnxReferenceModel}. A LoRA Llama model gives its base with adapters
 * off (not refreshable, as `LlamaReferenceModel`); any other model is a frozen
 * copy and gives a {@link RefreshableOnnxReferenceModel}.
 *
 * @example
 * ```ts
 * const referenceModel = await createOnnxReferenceModel({ model: frozenCopy, padTokenId: tokenizer.padTokenId });
 * ```
 */
export async function createOnnxReferenceModel(
  options: OnnxReferenceModelOptions,
): Promise<OnnxReferenceModel> {
  const reference =
    options.model instanceof LlamaModel && options.model.lora !== undefined
      ? new OnnxReferenceModel(options)
      : new RefreshableOnnxReferenceModel(options);
  await reference.export();
  return reference;
}
