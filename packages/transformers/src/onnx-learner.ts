import { assertTokenId, InvalidArgumentError, parseWithSchema } from '@cohort/core';
import {
  buildGptLearningGraph,
  buildLlamaLearningGraph,
  type Gpt2Config,
  gptLearningWeights,
  type LearningGraphWeight,
  type LlamaConfig,
  type LoraOptions,
  learningGradientOutputName,
  llamaLearningWeights,
  parseGpt2Config,
  parseLlamaConfig,
  rotaryInverseFrequencies,
} from '@cohort/tfjs';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import {
  type OnnxGptLearnerOptionsInput,
  OnnxGptLearnerOptionsSchema,
  type OnnxLlamaLearnerOptionsInput,
  OnnxLlamaLearnerOptionsSchema,
} from './onnx-learner-options';
import { consecutiveRuns } from './sequence-runs';

/**
 * What differs between model families for {@link OnnxLearner}: the graphs,
 * the weights, and the position inputs a batch of length `T` needs (a Llama's
 * rotary tables; GPT-2 reads its learned positions inside the graph).
 */
export interface OnnxLearnerFamily {
  family: 'llama' | 'gpt2';
  /** For messages: `llama`, `qwen2`, `gpt2`, ... */
  modelType: string;
  vocabSize: number;
  contextLength: number;
  eosTokenId: number;
  /** Every input weight of the graph (with LoRA: the frozen base, then the adapters). */
  weights: readonly LearningGraphWeight[];
  lora: LoraOptions | undefined;
  graph(withGradients: boolean): Uint8Array;
  positionFeeds(length: number): Record<string, ort.Tensor>;
}

/** Sequences of one learner call; they are right-padded to the longest. */
export interface OnnxLearnerBatch {
  sequences: readonly (readonly number[])[];
  /** Divides the logits before the softmax, as `tokenLogProbs`' `temperature`. Default 1. */
  temperature?: number;
}

/** The log-probs of one call, `[B, T]` row-major (the layout of `tokenLogProbs`). */
export interface OnnxLogProbs {
  /** `logProbs[b * T + t] = log p(x_t | x_<t)`, 0 for `t = 0` and padding. */
  logProbs: Float32Array;
  /** `entropy[b * T + t]`: entropy of the distribution that predicted token `t` (0 where `logProbs` is). */
  entropy: Float32Array;
  shape: [number, number];
}

/** {@link OnnxLearner.gradients}'s result; the caller owns (and disposes) the gradient tensors. */
export interface OnnxGradients extends OnnxLogProbs {
  /** `d (sum dLogp logp + dEntropy entropy) / d weight` of every trainable weight, keyed by name (`LlamaModel.namedVariables()` layout). */
  gradients: tf.NamedTensorMap;
}

/**
 * The weights the learner reads: `LlamaModel.namedVariables()` (with LoRA,
 * the adapters; the frozen base comes from {@link OnnxLearner.setFrozenWeights}),
 * or any tensors of those names and shapes.
 */
export type OnnxLearnerWeights = Readonly<Record<string, tf.Tensor>>;

/**
 * A model's learning engine on ONNX Runtime: the forward and backward pass
 * of its family's learning graph (`buildLlamaLearningGraph`,
 * `buildGptLearningGraph`) with every weight a graph input, so new weights
 * need no new graph. Any objective works through `d_logp`, the gradient of
 * the loss with respect to each token's log-prob: supervised cross-entropy
 * is `d_logp = -mask / count`; a policy-gradient loss computes it from
 * {@link OnnxLearner.logProbs} first. The gradients come back as tfjs tensors
 * for the tfjs optimizer (clipping, schedule and checkpoints as with tfjs
 * autodiff). Created by {@link createOnnxLlamaLearner} and {@link createOnnxGptLearner}.
 *
 * @example
 * ```ts
 * const learner = await createOnnxLlamaLearner({ config: model.config });
 * const { logProbs, gradients } = await learner.gradients(model.namedVariables(), { sequences }, dLogp);
 * optimizer.applyGradients(gradients);
 * tf.dispose(Object.values(gradients));
 * ```
 */
export class OnnxLearner {
  readonly family: OnnxLearnerFamily['family'];
  /** Every input weight of the graph (with LoRA: the frozen base, then the adapters). */
  readonly weights: readonly LearningGraphWeight[];
  /** The weights that get gradients: all of them, or with LoRA the adapters. */
  readonly trainableWeights: readonly LearningGraphWeight[];
  readonly lora: LoraOptions | undefined;
  /**
   * Sequences per ONNX Runtime run: a call runs its batch in groups of this
   * many (each padded to its own longest), adding the groups' gradients, so
   * the activations held at once shrink with it.
   */
  readonly sequencesPerRun: number;
  /** Padded tokens (sequences x their longest) per run at most; one sequence alone may exceed it. */
  readonly tokensPerRun: number;
  /** Whether the session keeps ONNX Runtime's CPU arena (see {@link defaultLearnerMemoryArena}). */
  readonly memoryArena: boolean;
  private readonly graphs: OnnxLearnerFamily;
  private readonly padTokenId: number;
  /** Frozen weights kept as ONNX Runtime tensors, read once (see {@link OnnxLearner.setFrozenWeights}). */
  private readonly frozen = new Map<string, ort.Tensor>();
  private readonly sessionOptions: ort.InferenceSession.SessionOptions;
  private learningSession: ort.InferenceSession;
  private forwardSession: ort.InferenceSession | undefined;

  constructor(options: {
    family: OnnxLearnerFamily;
    padTokenId: number;
    sessionOptions: ort.InferenceSession.SessionOptions;
    learningSession: ort.InferenceSession;
    /** See {@link OnnxLearner.sequencesPerRun}. Default: every sequence in one run. */
    sequencesPerRun?: number;
    /** See {@link OnnxLearner.tokensPerRun}. Default: no limit. */
    tokensPerRun?: number;
    memoryArena?: boolean;
  }) {
    this.memoryArena = options.memoryArena ?? true;
    this.sequencesPerRun = options.sequencesPerRun ?? Number.POSITIVE_INFINITY;
    this.tokensPerRun = options.tokensPerRun ?? Number.POSITIVE_INFINITY;
    this.graphs = options.family;
    this.family = options.family.family;
    this.padTokenId = options.padTokenId;
    this.sessionOptions = options.sessionOptions;
    this.learningSession = options.learningSession;
    this.weights = options.family.weights;
    this.trainableWeights = this.weights.filter((weight) => weight.trainable);
    this.lora = options.family.lora;
  }

  /** `logp [B, T]` of the sequences under `weights` (forward only). */
  async logProbs(weights: OnnxLearnerWeights, batch: OnnxLearnerBatch): Promise<OnnxLogProbs> {
    this.forwardSession ??= await ort.InferenceSession.create(
      this.graphs.graph(false),
      this.sessionOptions,
    );
    const session = this.forwardSession;
    const { feeds, shape } = this.feeds(weights, batch);
    const result = {
      logProbs: new Float32Array(shape[0] * shape[1]),
      entropy: new Float32Array(shape[0] * shape[1]),
      shape,
    };
    for (const rows of this.runs(batch.sequences, shape)) {
      const outputs = await session.run({ ...feeds, ...rows.feeds });
      rows.place(outputs, result);
    }
    return result;
  }

  /**
   * `logp [B, T]`, `entropy [B, T]` and the gradient of
   * `sum_{b,t} dLogp[b, t] logp[b, t] + dEntropy[b, t] entropy[b, t]` with
   * respect to every trainable weight. `dLogp` and `dEntropy` (default 0: an
   * objective without an entropy term) are `[B][T]` or `B * T` row-major
   * values; entries at `t = 0` and padding have no effect (their values are constant 0).
   */
  async gradients(
    weights: OnnxLearnerWeights,
    batch: OnnxLearnerBatch,
    dLogp: readonly (readonly number[])[] | Float32Array,
    dEntropy?: readonly (readonly number[])[] | Float32Array,
  ): Promise<OnnxGradients> {
    const { feeds, shape } = this.feeds(weights, batch);
    const upstream = {
      d_logp: upstreamValues('dLogp', dLogp, shape),
      d_entropy:
        dEntropy === undefined
          ? new Float32Array(shape[0] * shape[1])
          : upstreamValues('dEntropy', dEntropy, shape),
    };
    const result = {
      logProbs: new Float32Array(shape[0] * shape[1]),
      entropy: new Float32Array(shape[0] * shape[1]),
      shape,
    };
    // Each run's gradients are added in run order, so a call is deterministic.
    const sums = new Map<string, Float32Array>();
    for (const rows of this.runs(batch.sequences, shape, upstream)) {
      const outputs = await this.learningSession.run({ ...feeds, ...rows.feeds });
      rows.place(outputs, result);
      for (const { name } of this.trainableWeights) {
        const values = (outputs[learningGradientOutputName(name)] as ort.Tensor)
          .data as Float32Array;
        addGradient(sums, name, values);
      }
    }
    return { ...result, gradients: gradientTensors(sums, this.trainableWeights) };
  }

  /**
   * The sequences in runs of at most `sequencesPerRun` and `tokensPerRun`
   * ({@link learnerRuns}), each padded to its own longest sequence: its `input_ids`, `attention_mask` and position feeds
   * (and, given `upstream [B, T]`, its rows of it), and `place`, which copies
   * the run's `logp` and `entropy` into the `[B, T]` result.
   */
  private *runs(
    sequences: readonly (readonly number[])[],
    [, fullLength]: [number, number],
    upstream?: Record<string, Float32Array>,
  ): Generator<{
    feeds: Record<string, ort.Tensor>;
    place: (outputs: ort.InferenceSession.OnnxValueMapType, result: OnnxLogProbs) => void;
  }> {
    const lengths = sequences.map((sequence) => sequence.length);
    for (const [start, end] of learnerRuns(lengths, this.sequencesPerRun, this.tokensPerRun)) {
      const rows = sequences.slice(start, end);
      const length = Math.max(...rows.map((sequence) => sequence.length));
      const shape: [number, number] = [rows.length, length];
      const ids = new BigInt64Array(rows.length * length).fill(BigInt(this.padTokenId));
      const mask = new Float32Array(rows.length * length);
      rows.forEach((sequence, b) => {
        sequence.forEach((id, t) => {
          ids[b * length + t] = BigInt(id);
          mask[b * length + t] = 1;
        });
      });
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', ids, shape),
        attention_mask: new ort.Tensor('float32', mask, shape),
        ...this.graphs.positionFeeds(length),
      };
      for (const [name, values] of Object.entries(upstream ?? {})) {
        const part = sliceRows(values, fullLength, start, rows.length, length);
        feeds[name] = new ort.Tensor('float32', part, shape);
      }
      yield {
        feeds,
        place: (outputs, result) => {
          const logp = (outputs.logp as ort.Tensor).data as Float32Array;
          const entropy = (outputs.entropy as ort.Tensor).data as Float32Array;
          placeRows(result.logProbs, fullLength, start, logp, length);
          placeRows(result.entropy, fullLength, start, entropy, length);
        },
      };
    }
  }

  /**
   * Reads the frozen weights once (a LoRA model's base: `LlamaModel.baseVariables()`)
   * and keeps them for every later call, so a step copies only the adapters.
   * Throws naming a weight that is unknown, trainable, missing or misshaped.
   */
  setFrozenWeights(weights: OnnxLearnerWeights): void {
    const frozen = this.weights.filter((weight) => !weight.trainable);
    for (const name of Object.keys(weights)) {
      if (!frozen.some((weight) => weight.name === name)) {
        throw new InvalidArgumentError({
          argument: `weights["${name}"]`,
          value: weights[name]?.shape,
          message: 'is not a frozen weight of this learner (only a LoRA model has frozen weights)',
        });
      }
    }
    const tensors = new Map<string, ort.Tensor>();
    for (const weight of frozen) tensors.set(weight.name, this.weightTensor(weights, weight));
    for (const [name, tensor] of tensors) this.frozen.set(name, tensor);
  }

  /** Releases the ONNX Runtime sessions. */
  async release(): Promise<void> {
    await this.learningSession.release();
    await this.forwardSession?.release();
    this.forwardSession = undefined;
  }

  private feeds(
    weights: OnnxLearnerWeights,
    batch: OnnxLearnerBatch,
  ): { feeds: Record<string, ort.Tensor>; shape: [number, number] } {
    const { sequences, temperature = 1 } = batch;
    const { vocabSize, contextLength, modelType } = this.graphs;
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new InvalidArgumentError({
        argument: 'batch.temperature',
        value: temperature,
        message: 'must be a finite positive number',
      });
    }
    if (sequences.length === 0) {
      throw new InvalidArgumentError({
        argument: 'batch.sequences',
        value: sequences,
        message: 'must hold at least one sequence',
      });
    }
    const length = Math.max(...sequences.map((sequence) => sequence.length));
    const batchSize = sequences.length;
    sequences.forEach((sequence, b) => {
      if (sequence.length === 0 || sequence.length > contextLength) {
        throw new InvalidArgumentError({
          argument: `batch.sequences[${b}].length`,
          value: sequence.length,
          message: `must be in [1, contextLength = ${contextLength}]`,
        });
      }
      sequence.forEach((id, t) => {
        assertTokenId(`batch.sequences[${b}][${t}]`, id, vocabSize);
      });
    });
    const shape: [number, number] = [batchSize, length];
    // The weights and the temperature, shared by every run of the call (see `runs`).
    const feeds: Record<string, ort.Tensor> = {
      inverse_temperature: new ort.Tensor('float32', new Float32Array([1 / temperature]), []),
    };
    const known = new Set(this.weights.map(({ name }) => name));
    for (const name of Object.keys(weights)) {
      if (!known.has(name)) {
        throw new InvalidArgumentError({
          argument: `weights["${name}"]`,
          value: weights[name]?.shape,
          message: `is not a weight of this ${modelType} model`,
        });
      }
    }
    for (const weight of this.weights) {
      const frozen = this.frozen.get(weight.name);
      feeds[weight.name] =
        frozen !== undefined && weights[weight.name] === undefined
          ? frozen
          : this.weightTensor(weights, weight);
    }
    return { feeds, shape };
  }

  private weightTensor(
    weights: OnnxLearnerWeights,
    { name, shape: expected, trainable }: LearningGraphWeight,
  ): ort.Tensor {
    const tensor = weights[name];
    if (tensor === undefined) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"]`,
        value: undefined,
        message: `is missing (shape [${expected.join(', ')}])${trainable ? '' : '; pass the frozen base once to setFrozenWeights'}`,
      });
    }
    if (
      tensor.shape.length !== expected.length ||
      tensor.shape.some((size, axis) => size !== expected[axis])
    ) {
      throw new InvalidArgumentError({
        argument: `weights["${name}"].shape`,
        value: tensor.shape,
        message: `must be [${expected.join(', ')}]`,
      });
    }
    return new ort.Tensor('float32', tensor.dataSync() as Float32Array, expected);
  }
}

/** `cos` and `sin` `[T, d]` of positions `0 .. T-1`, in float64 then rounded, as `rotaryTables` makes them; cached per length. */
function rotaryFeeds(config: LlamaConfig): (length: number) => Record<string, ort.Tensor> {
  const inverseFrequencies = rotaryInverseFrequencies(config);
  const tables = new Map<number, Record<string, ort.Tensor>>();
  return (length) => {
    const cached = tables.get(length);
    if (cached !== undefined) return cached;
    const half = inverseFrequencies.length;
    const headSize = 2 * half;
    const cos = new Float32Array(length * headSize);
    const sin = new Float32Array(length * headSize);
    for (let t = 0; t < length; t++) {
      for (let i = 0; i < half; i++) {
        const angle = t * (inverseFrequencies[i] as number);
        cos[t * headSize + i] = cos[t * headSize + half + i] = Math.cos(angle);
        sin[t * headSize + i] = sin[t * headSize + half + i] = Math.sin(angle);
      }
    }
    const feeds = {
      rotary_cos: new ort.Tensor('float32', cos, [length, headSize]),
      rotary_sin: new ort.Tensor('float32', sin, [length, headSize]),
    };
    tables.set(length, feeds);
    return feeds;
  };
}

/** The Llama family: {@link buildLlamaLearningGraph}, with LoRA when given. */
export function llamaLearnerFamily(config: LlamaConfig, lora?: LoraOptions): OnnxLearnerFamily {
  return {
    family: 'llama',
    modelType: config.modelType,
    vocabSize: config.vocabSize,
    contextLength: config.contextLength,
    eosTokenId: config.eosTokenId,
    weights: llamaLearningWeights(config, lora),
    lora,
    graph: (withGradients) =>
      buildLlamaLearningGraph({ config, withGradients, ...(lora !== undefined ? { lora } : {}) })
        .model,
    positionFeeds: rotaryFeeds(config),
  };
}

/** The GPT-2 family: {@link buildGptLearningGraph} (positions are read inside the graph). */
export function gptLearnerFamily(config: Gpt2Config): OnnxLearnerFamily {
  return {
    family: 'gpt2',
    modelType: 'gpt2',
    vocabSize: config.vocabSize,
    contextLength: config.contextLength,
    eosTokenId: config.eosTokenId,
    weights: gptLearningWeights(config),
    lora: undefined,
    graph: (withGradients) => buildGptLearningGraph({ config, withGradients }).model,
    positionFeeds: () => ({}),
  };
}

/**
 * Whether a learner keeps ONNX Runtime's CPU arena and memory patterns when
 * its options do not say: for a context up to 512 tokens. The arena keeps
 * the largest run's buffers for the session's life. Without it, the shipped
 * GPT-2's learner (context 256) ran 2x slower and held no less (round 10,
 * bench/onnx-learner-memory.ts); a Llama tool agent's GRPO run at context
 * 2048 (6 steps, 2 runs each, alternating on one core) peaked at 1995-1998 MB
 * against 2212-2260 MB with it, its update 4% slower.
 */
export function defaultLearnerMemoryArena(contextLength: number): boolean {
  return contextLength <= 512;
}

/** Session options of every learner: sequential, `intraOpNumThreads` threads that sleep when idle. */
function learnerSessionOptions(
  intraOpNumThreads: number,
  memoryArena: boolean,
): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads,
    interOpNumThreads: 1,
    enableCpuMemArena: memoryArena,
    enableMemPattern: memoryArena,
    // Idle threads sleep instead of spinning: beside other work on 2 cores, 2 spinning threads took
    // 610-840 ms a step of batch 8 x 543 against 430-450 ms sleeping (1 thread: 320-370 ms).
    ...(intraOpNumThreads > 1 ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
}

/** Opens the learning session of `family` and wraps it in an {@link OnnxLearner}. */
async function createOnnxLearner(
  family: OnnxLearnerFamily,
  options: {
    intraOpNumThreads: number;
    padTokenId?: number | undefined;
    sequencesPerRun?: number | undefined;
    tokensPerRun?: number | undefined;
    memoryArena?: boolean | undefined;
  },
): Promise<OnnxLearner> {
  const memoryArena = options.memoryArena ?? defaultLearnerMemoryArena(family.contextLength);
  const sessionOptions = learnerSessionOptions(options.intraOpNumThreads, memoryArena);
  const learningSession = await ort.InferenceSession.create(family.graph(true), sessionOptions);
  return new OnnxLearner({
    family,
    memoryArena,
    padTokenId: options.padTokenId ?? family.eosTokenId,
    sessionOptions,
    learningSession,
    ...(options.sequencesPerRun !== undefined ? { sequencesPerRun: options.sequencesPerRun } : {}),
    ...(options.tokensPerRun !== undefined ? { tokensPerRun: options.tokensPerRun } : {}),
  });
}

/**
 * Consecutive runs `[start, end)` of sequences of `lengths`: each at most
 * `sequencesPerRun` sequences and at most `tokensPerRun` padded tokens (its
 * sequences x their longest), unless one sequence alone exceeds that.
 */
export function learnerRuns(
  lengths: readonly number[],
  sequencesPerRun: number,
  tokensPerRun: number,
): [number, number][] {
  return consecutiveRuns(lengths, sequencesPerRun, (rows, longest) => rows * longest, tokensPerRun);
}

/**
 * Creates an {@link OnnxLearner} for a Llama-family model (Llama, SmolLM,
 * Qwen2, Qwen3 with its q/k norms): builds the learning graph for `config`
 * and opens an ONNX Runtime session on it (`intraOpNumThreads` threads,
 * default 1). Throws `ValidationError` naming a bad option.
 *
 * @example
 * ```ts
 * const learner = await createOnnxLlamaLearner({ config: model.config, intraOpNumThreads: 2 });
 * ```
 */
export async function createOnnxLlamaLearner(
  input: OnnxLlamaLearnerOptionsInput,
): Promise<OnnxLearner> {
  const options = parseWithSchema(OnnxLlamaLearnerOptionsSchema, input, 'OnnxLlamaLearner options');
  const config = parseLlamaConfig(options.config);
  return createOnnxLearner(llamaLearnerFamily(config, options.lora), options);
}

/**
 * Creates an {@link OnnxLearner} for a GPT-2 model ({@link buildGptLearningGraph}):
 * every weight trainable, the tied head's gradient included in
 * `transformer.wte.weight`'s. Throws `ValidationError` naming a bad option
 * or config field.
 *
 * @example
 * ```ts
 * const learner = await createOnnxGptLearner({ config: gpt.config });
 * ```
 */
export async function createOnnxGptLearner(
  input: OnnxGptLearnerOptionsInput,
): Promise<OnnxLearner> {
  const options = parseWithSchema(OnnxGptLearnerOptionsSchema, input, 'OnnxGptLearner options');
  return createOnnxLearner(gptLearnerFamily(parseGpt2Config(options.config)), options);
}

/**
 * Rows `start ..< start + rows` of the row-major `[*, fromWidth]` `values`,
 * each cut to its first `width` entries: a new `[rows, width]` array.
 */
export function sliceRows(
  values: Float32Array,
  fromWidth: number,
  start: number,
  rows: number,
  width: number,
): Float32Array {
  const out = new Float32Array(rows * width);
  for (let b = 0; b < rows; b++) {
    const from = (start + b) * fromWidth;
    out.set(values.subarray(from, from + width), b * width);
  }
  return out;
}

/** Copies the row-major `[rows, width]` `values` into rows `start ..` of the `[*, toWidth]` `target`. */
export function placeRows(
  target: Float32Array,
  toWidth: number,
  start: number,
  values: Float32Array,
  width: number,
): void {
  const rows = values.length / width;
  for (let b = 0; b < rows; b++)
    target.set(values.subarray(b * width, (b + 1) * width), (start + b) * toWidth);
}

/**
 * `[B, T]` row-major upstream values (rows of length T, or one Float32Array of
 * B x T), checked: a wrong count or length, or a value that is not finite,
 * throws naming the row and position.
 */
export function upstreamValues(
  argument: string,
  upstream: readonly (readonly number[])[] | Float32Array,
  [batchSize, length]: [number, number],
): Float32Array {
  const values = new Float32Array(batchSize * length);
  if (upstream instanceof Float32Array) {
    if (upstream.length !== values.length) {
      throw new InvalidArgumentError({
        argument: `${argument}.length`,
        value: upstream.length,
        message: `must be batch x length = ${batchSize} x ${length} = ${values.length}`,
      });
    }
    values.set(upstream);
  } else {
    if (upstream.length !== batchSize) {
      throw new InvalidArgumentError({
        argument: `${argument}.length`,
        value: upstream.length,
        message: `must equal the number of sequences, ${batchSize}`,
      });
    }
    upstream.forEach((row, b) => {
      if (row.length !== length) {
        throw new InvalidArgumentError({
          argument: `${argument}[${b}].length`,
          value: row.length,
          message: `must equal the padded length ${length}`,
        });
      }
      values.set(row, b * length);
    });
  }
  for (let index = 0; index < values.length; index++) {
    if (!Number.isFinite(values[index])) {
      throw new InvalidArgumentError({
        argument: `${argument}[${Math.floor(index / length)}][${index % length}]`,
        value: values[index],
        message: 'must be finite',
      });
    }
  }
  return values;
}

/**
 * Adds `values` into `sums`' entry for `name` (the first values become the
 * entry): the gradients of several runs or shares, added in call order so a
 * result is deterministic.
 */
export function addGradient(
  sums: Map<string, Float32Array>,
  name: string,
  values: Float32Array,
): void {
  const sum = sums.get(name);
  if (sum === undefined) sums.set(name, values);
  else
    for (let index = 0; index < sum.length; index++)
      sum[index] = (sum[index] as number) + (values[index] as number);
}

/** The summed gradients of `weights` as tfjs tensors of their shapes (the caller owns them). */
export function gradientTensors(
  sums: ReadonlyMap<string, Float32Array>,
  weights: readonly LearningGraphWeight[],
): tf.NamedTensorMap {
  const gradients: tf.NamedTensorMap = {};
  for (const { name, shape } of weights)
    gradients[name] = tf.tensor(sums.get(name) as Float32Array, shape);
  return gradients;
}
