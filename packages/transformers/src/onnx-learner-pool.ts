import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '@cohort/core';
import {
  type Gpt2ConfigInput,
  type LlamaConfigInput,
  type LoraOptions,
  type LoraOptionsInput,
  parseGpt2Config,
  parseLlamaConfig,
  parseLoraOptions,
} from '@cohort/tfjs';
import type * as tf from '@tensorflow/tfjs';
import {
  addGradient,
  gptLearnerFamily,
  gradientTensors,
  llamaLearnerFamily,
  type OnnxGradients,
  type OnnxLearnerBatch,
  type OnnxLearnerFamily,
  type OnnxLearnerWeights,
  type OnnxLogProbs,
  placeRows,
  sliceRows,
  upstreamValues,
} from './onnx-learner';
import type {
  OnnxLearnerPoolRequest,
  OnnxLearnerPoolResponse,
  OnnxLearnerPoolWorkerData,
  PoolWeights,
} from './onnx-learner-pool-protocol';

/**
 * Padded tokens per ONNX Runtime run in a pool's worker by default. On 2
 * cores, 2 workers against one thread (bench/onnx-learner-pool.ts, 8
 * sequences a call, 7 rounds alternating): with one sequence per run the pool
 * reached 1.27x (0.56M GPT-2, 160 tokens), 1.62x (0.5M Llama, 543) and 1.32x
 * (11M Llama, 256); with each worker's share in one run 1.79x, 1.31x and
 * 1.59x. Runs of up to 1024 tokens make the first and last of these one run a
 * share and the second one sequence a run.
 */
export const defaultPoolTokensPerRun = 1024;

/** Options of {@link createOnnxLearnerPool}. */
export type OnnxLearnerPoolOptions = {
  /** Worker threads, each with its own single-threaded ONNX Runtime session (>= 1). */
  workerCount: number;
  /** See `createOnnxLlamaLearner`: default `config.eosTokenId`. */
  padTokenId?: number;
  /** Sequences per ONNX Runtime run inside each worker. Default: no limit. */
  sequencesPerRun?: number;
  /**
   * Padded tokens (sequences x their longest) per ONNX Runtime run inside
   * each worker, at most; one sequence alone may exceed it. Default
   * {@link defaultPoolTokensPerRun}.
   */
  tokensPerRun?: number;
} & (
  | { family: 'llama'; config: LlamaConfigInput; lora?: LoraOptionsInput }
  | { family: 'gpt2'; config: Gpt2ConfigInput }
);

type Request = OnnxLearnerPoolRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'id'>
    : never
  : never;

/** Run from TypeScript sources (tests, benchmarks), the worker starts through tsx with the source condition. */
const runsFromSource = import.meta.url.endsWith('.ts');

function startWorker(workerData: OnnxLearnerPoolWorkerData): Worker {
  if (!runsFromSource) {
    return new Worker(new URL('./onnx-learner-worker.js', import.meta.url), { workerData });
  }
  return new Worker(new URL('./run-typescript-worker.mjs', import.meta.url), {
    workerData: { ...workerData, entry: new URL('./onnx-learner-worker.ts', import.meta.url).href },
    execArgv: ['--conditions=@cohort/source'],
  });
}

/** The rows `[start, end)` of each worker: contiguous, sizes differing by at most one. */
export function poolShares(rows: number, workers: number): [number, number][] {
  const used = Math.min(rows, workers);
  const shares: [number, number][] = [];
  let start = 0;
  for (let index = 0; index < used; index++) {
    const size = Math.floor(rows / used) + (index < rows % used ? 1 : 0);
    shares.push([start, start + size]);
    start += size;
  }
  return shares;
}

/**
 * Data-parallel learning on ONNX Runtime: `workerCount` worker threads, each
 * with an `OnnxLearner` on one thread, compute the log-probs and gradients of
 * contiguous shares of a call's sequences at the same time; the leader adds
 * the shares' gradients in worker order, so a result is bit-identical for a
 * given worker count (and equal to one learner's within float32 rounding).
 * It answers what an `OnnxLearner` answers (`gradients`, `logProbs`,
 * `setFrozenWeights`, `release`), so it replaces one where a call's sequences
 * are many: ONNX Runtime's own threads scale one call over cores less well
 * (`bench/onnx-learner-pool.ts`). The weights cross to every worker on each
 * call (the LoRA base once, with `setFrozenWeights`); a worker that fails
 * fails the call with its message and changes nothing.
 *
 * @example
 * ```ts
 * const pool = await createOnnxLearnerPool({ family: 'llama', config: model.config, workerCount: 2 });
 * const { gradients } = await pool.gradients(model.namedVariables(), { sequences }, dLogp);
 * optimizer.applyGradients(gradients);
 * await pool.release();
 * ```
 */
export class OnnxLearnerPool {
  readonly family: OnnxLearnerFamily['family'];
  readonly weights: OnnxLearnerFamily['weights'];
  readonly trainableWeights: OnnxLearnerFamily['weights'];
  readonly lora: LoraOptions | undefined;
  readonly workerCount: number;
  /** Each worker's sequences per run (no limit: Infinity) and padded tokens per run at most. */
  readonly runLimits: { sequencesPerRun: number; tokensPerRun: number };
  private readonly workers: Worker[];
  private readonly pending = new Map<
    number,
    { resolve: (response: OnnxLearnerPoolResponse) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;
  private released = false;

  private constructor(
    family: OnnxLearnerFamily,
    workers: Worker[],
    runLimits: { sequencesPerRun?: number; tokensPerRun: number },
  ) {
    this.runLimits = {
      sequencesPerRun: runLimits.sequencesPerRun ?? Number.POSITIVE_INFINITY,
      tokensPerRun: runLimits.tokensPerRun,
    };
    this.family = family.family;
    this.weights = family.weights;
    this.trainableWeights = family.weights.filter((weight) => weight.trainable);
    this.lora = family.lora;
    this.workers = workers;
    this.workerCount = workers.length;
    workers.forEach((worker, index) => {
      worker.on('message', (response: OnnxLearnerPoolResponse) => {
        const entry = this.pending.get(response.id);
        if (entry === undefined) return;
        this.pending.delete(response.id);
        this.hold();
        entry.resolve(response);
      });
      const fail = (error: Error) => {
        this.failure ??= new Error(`ONNX learner worker ${index} stopped: ${error.message}`);
        for (const entry of this.pending.values()) entry.reject(this.failure);
        this.pending.clear();
        this.hold();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    });
    this.hold();
  }

  /** Starts the workers and waits until each has opened its session. */
  static async create(options: OnnxLearnerPoolOptions): Promise<OnnxLearnerPool> {
    const { workerCount } = options;
    if (!Number.isInteger(workerCount) || workerCount < 1) {
      throw new InvalidArgumentError({
        argument: 'workerCount',
        value: workerCount,
        message: 'must be an integer >= 1',
      });
    }
    const shared = {
      ...(options.padTokenId !== undefined ? { padTokenId: options.padTokenId } : {}),
      ...(options.sequencesPerRun !== undefined
        ? { sequencesPerRun: options.sequencesPerRun }
        : {}),
      tokensPerRun: options.tokensPerRun ?? defaultPoolTokensPerRun,
    };
    let family: OnnxLearnerFamily;
    let workerData: OnnxLearnerPoolWorkerData;
    if (options.family === 'llama') {
      const config = parseLlamaConfig(options.config);
      const lora = options.lora === undefined ? undefined : parseLoraOptions(options.lora);
      family = llamaLearnerFamily(config, lora);
      workerData = { family: 'llama', config, lora, ...shared };
    } else if (options.family === 'gpt2') {
      const config = parseGpt2Config(options.config);
      family = gptLearnerFamily(config);
      workerData = { family: 'gpt2', config, ...shared };
    } else {
      throw new InvalidArgumentError({
        argument: 'family',
        value: (options as { family?: unknown }).family,
        message: "must be 'llama' or 'gpt2'",
      });
    }
    const workers = Array.from({ length: workerCount }, () => startWorker(workerData));
    const pool = new OnnxLearnerPool(family, workers, shared);
    try {
      await pool.broadcast({ type: 'ready' });
    } catch (error) {
      await pool.release();
      throw error;
    }
    return pool;
  }

  /** Sends the frozen weights (a LoRA model's base) to every worker, once; see `OnnxLearner.setFrozenWeights`. */
  async setFrozenWeights(weights: OnnxLearnerWeights): Promise<void> {
    await this.broadcast({ type: 'frozen', weights: toPoolWeights(weights) });
  }

  /** `logp [B, T]` and `entropy [B, T]` of the sequences under `weights` (forward only). */
  async logProbs(weights: OnnxLearnerWeights, batch: OnnxLearnerBatch): Promise<OnnxLogProbs> {
    const shape = batchShape(batch);
    const crossing = this.trainableOf(weights);
    const responses = await this.shareOut(shape, (start, end) => ({
      type: 'logProbs',
      weights: crossing,
      sequences: batch.sequences.slice(start, end).map((sequence) => [...sequence]),
      ...(batch.temperature !== undefined ? { temperature: batch.temperature } : {}),
    }));
    return assemble(shape, responses);
  }

  /**
   * `logp`, `entropy` and the gradients of `sum dLogp logp + dEntropy entropy`
   * with respect to every trainable weight; see `OnnxLearner.gradients`.
   */
  async gradients(
    weights: OnnxLearnerWeights,
    batch: OnnxLearnerBatch,
    dLogp: readonly (readonly number[])[] | Float32Array,
    dEntropy?: readonly (readonly number[])[] | Float32Array,
  ): Promise<OnnxGradients> {
    const shape = batchShape(batch);
    const upstream = {
      dLogp: upstreamValues('dLogp', dLogp, shape),
      ...(dEntropy !== undefined ? { dEntropy: upstreamValues('dEntropy', dEntropy, shape) } : {}),
    };
    const crossing = this.trainableOf(weights);
    const responses = await this.shareOut(shape, (start, end) => {
      const rows = batch.sequences.slice(start, end);
      const length = Math.max(...rows.map((sequence) => sequence.length));
      const part = (values: Float32Array) =>
        sliceRows(values, shape[1], start, rows.length, length);
      return {
        type: 'gradients',
        weights: crossing,
        sequences: rows.map((sequence) => [...sequence]),
        ...(batch.temperature !== undefined ? { temperature: batch.temperature } : {}),
        dLogp: part(upstream.dLogp),
        ...(upstream.dEntropy ? { dEntropy: part(upstream.dEntropy) } : {}),
      };
    });
    // The shares' gradients are added in worker order: bit-identical for a worker count.
    const sums = new Map<string, Float32Array>();
    for (const { response } of responses) {
      for (const [name, values] of Object.entries(response.gradients ?? {}))
        addGradient(sums, name, values);
    }
    return {
      ...assemble(shape, responses),
      gradients: gradientTensors(sums, this.trainableWeights),
    };
  }

  /** Stops the workers (their sessions go with them). */
  async release(): Promise<void> {
    this.failure ??= new Error('the ONNX learner pool was released');
    // An idle worker is unref'd: hold it again (and keep it held through its exit event), or a
    // program awaiting this ends before the exit settles the promise (exit code 13).
    this.released = true;
    for (const worker of this.workers) worker.ref();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /**
   * The trainable weights' values, copied once for every worker. A missing or
   * misshaped weight is left to the workers' learners, which refuse it naming
   * the weight, as one learner does.
   */
  private trainableOf(weights: OnnxLearnerWeights): PoolWeights {
    const picked: Record<string, tf.Tensor> = {};
    for (const { name } of this.trainableWeights) {
      const tensor = weights[name];
      if (tensor !== undefined) picked[name] = tensor;
    }
    return toPoolWeights(picked);
  }

  /** Sends each worker its share of `[B, T]` and waits for all of them. */
  private async shareOut(
    [rows]: [number, number],
    request: (start: number, end: number) => Request,
  ): Promise<{ start: number; response: OnnxLearnerPoolResponse }[]> {
    const shares = poolShares(rows, this.workers.length);
    const responses = await Promise.all(
      shares.map(([start, end], index) =>
        this.send(index, request(start, end)).then((response) => ({ start, response })),
      ),
    );
    for (const { start, response } of responses) {
      if (response.error) throw rebuildError(response.error, start);
    }
    return responses;
  }

  private async broadcast(request: Request): Promise<void> {
    const responses = await Promise.all(this.workers.map((_, index) => this.send(index, request)));
    for (const response of responses) if (response.error) throw rebuildError(response.error, 0);
  }

  private send(index: number, request: Request): Promise<OnnxLearnerPoolResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.hold();
      (this.workers[index] as Worker).postMessage({ id, ...request });
    });
  }

  /** Workers keep the process alive only while a call waits on them. */
  private hold(): void {
    if (this.released) return;
    for (const worker of this.workers) {
      if (this.pending.size > 0) worker.ref();
      else worker.unref();
    }
  }
}

/** Starts an {@link OnnxLearnerPool}; see there. */
export function createOnnxLearnerPool(options: OnnxLearnerPoolOptions): Promise<OnnxLearnerPool> {
  return OnnxLearnerPool.create(options);
}

function toPoolWeights(weights: OnnxLearnerWeights): PoolWeights {
  return Object.fromEntries(
    Object.entries(weights).map(([name, tensor]) => [
      name,
      { values: tensor.dataSync() as Float32Array, shape: [...tensor.shape] },
    ]),
  );
}

function batchShape(batch: OnnxLearnerBatch): [number, number] {
  if (!Array.isArray(batch.sequences) || batch.sequences.length === 0) {
    throw new InvalidArgumentError({
      argument: 'batch.sequences',
      value: batch.sequences,
      message: 'must hold at least one sequence',
    });
  }
  return [batch.sequences.length, Math.max(...batch.sequences.map((sequence) => sequence.length))];
}

/** The shares' `[b, T_share]` log-probs and entropies placed in the call's `[B, T]`. */
function assemble(
  shape: [number, number],
  responses: readonly { start: number; response: OnnxLearnerPoolResponse }[],
): OnnxLogProbs {
  const [, length] = shape;
  const result: OnnxLogProbs = {
    logProbs: new Float32Array(shape[0] * length),
    entropy: new Float32Array(shape[0] * length),
    shape,
  };
  for (const { start, response } of responses) {
    const [, width] = response.shape as [number, number];
    placeRows(result.logProbs, length, start, response.logProbs as Float32Array, width);
    placeRows(result.entropy, length, start, response.entropy as Float32Array, width);
  }
  return result;
}

/** A worker's error as the caller's: an argument error names the call's row, not the share's. */
function rebuildError(error: NonNullable<OnnxLearnerPoolResponse['error']>, start: number): Error {
  if (error.argument === undefined) return new Error(error.message);
  // The worker's message is the whole sentence; its own part follows the argument and value.
  const prefix = new InvalidArgumentError({
    argument: error.argument,
    value: error.value,
    message: '',
  }).message;
  const message = error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message;
  const argument = error.argument.replace(
    /^(batch\.sequences|dLogp|dEntropy)\[(\d+)\]/,
    (_, name: string, row: string) => `${name}[${Number(row) + start}]`,
  );
  return new InvalidArgumentError({ argument, value: error.value, message });
}
