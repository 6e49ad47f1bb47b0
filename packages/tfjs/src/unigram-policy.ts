import {
  type Policy,
  type ReferenceModel,
  type SampledCompletion,
  type SampleRequest,
  sampleContextFree,
  type Tokenizer,
  type TokenLogProbs,
  type TokenLogProbsRequest,
} from '@cohort/core';
import * as tf from '@tensorflow/tfjs';
import type { WeightMap } from './weights';

let instances = 0;

/**
 * A context-free softmax policy over the vocabulary with trainable logits:
 * `pi(token) = softmax(logits / T)[token]` at every position. It is the
 * smallest real token-level policy: it samples, scores with gradient and is
 * trained by the same code as a language model, so bandit experiments and
 * trainer tests run in seconds. Log-probs use a one-hot product instead of
 * `gather`, whose gradient is missing on WASM.
 *
 * @example
 * ```ts
 * const policy = new UnigramPolicy({ tokenizer, initialLogits });
 * const optimizer = createOptimizer({ learningRate: 0.1, variables: policy.namedVariables() });
 * ```
 */
export class UnigramPolicy implements Policy<tf.Tensor, tf.Variable> {
  readonly tokenizer: Tokenizer;
  version = 0;
  readonly logits: tf.Variable<tf.Rank.R1>;

  constructor(options: { tokenizer: Tokenizer; initialLogits?: number[] }) {
    this.tokenizer = options.tokenizer;
    const initial = options.initialLogits ?? new Array(options.tokenizer.vocabSize).fill(0);
    this.logits = tf.variable(tf.tensor1d(initial), true, `unigram-logits-${instances++}`);
  }

  private logProbabilities(temperature: number): Float64Array {
    const values = this.logits.dataSync();
    const scaled = Array.from(values, (value) => value / temperature);
    const maximum = Math.max(...scaled);
    const logSum =
      maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
    return Float64Array.from(scaled, (value) => value - logSum);
  }

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    const temperature = request.temperature ?? 1;
    return sampleContextFree({
      request,
      logProbabilities: Array.from(this.logProbabilities(temperature === 0 ? 1 : temperature)),
      tokenizer: this.tokenizer,
    });
  }

  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<tf.Tensor> {
    const temperature = request.temperature ?? 1;
    const maxLength = Math.max(0, ...request.sequences.map((sequence) => sequence.length));
    const ids: number[] = [];
    const valid: number[] = [];
    for (const sequence of request.sequences) {
      for (let position = 0; position < maxLength; position++) {
        ids.push(position < sequence.length ? sequence[position]! : 0);
        valid.push(position > 0 && position < sequence.length ? 1 : 0);
      }
    }
    const shape: [number, number] = [request.sequences.length, maxLength];
    const logSoftmax = tf.logSoftmax(tf.div(this.logits, temperature));
    const oneHot = tf.oneHot(tf.tensor1d(ids, 'int32'), this.tokenizer.vocabSize).toFloat();
    const validMask = tf.tensor2d(valid, shape);
    const logProbs = tf.mul(
      tf.reshape(tf.matMul(oneHot, tf.reshape(logSoftmax, [-1, 1])), shape),
      validMask,
    );
    if (!request.withEntropy) return { logProbs };
    const entropyValue = tf.neg(tf.sum(tf.mul(tf.exp(logSoftmax), logSoftmax)));
    return { logProbs, entropy: tf.mul(validMask, entropyValue) };
  }

  trainableVariables(): readonly tf.Variable[] {
    return [this.logits];
  }

  /** The trainable variables under stable names, for optimizers whose state must survive a restart. */
  namedVariables(): Record<string, tf.Variable> {
    return { logits: this.logits };
  }

  /** Probability of each token at temperature 1. */
  probabilities(): number[] {
    return Array.from(this.logProbabilities(1), Math.exp);
  }

  getWeights(): WeightMap {
    return {
      logits: { shape: [this.tokenizer.vocabSize], data: new Float32Array(this.logits.dataSync()) },
    };
  }

  setWeights(weights: WeightMap): void {
    const logits = weights.logits;
    if (!logits) throw new Error('UnigramPolicy.setWeights: missing "logits"');
    this.logits.assign(tf.tensor1d(logits.data));
  }
}

/** A frozen copy of a {@link UnigramPolicy}'s distribution, as a KL reference. */
export class UnigramReference implements ReferenceModel {
  private logits: Float32Array;

  constructor(policy: UnigramPolicy) {
    this.logits = new Float32Array(policy.logits.dataSync());
  }

  async referenceLogProbs(request: TokenLogProbsRequest): Promise<number[][]> {
    const temperature = request.temperature ?? 1;
    const scaled = Array.from(this.logits, (value) => value / temperature);
    const maximum = Math.max(...scaled);
    const logSum =
      maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
    return request.sequences.map((sequence) =>
      sequence.map((id, position) => (position === 0 ? 0 : scaled[id]! - logSum)),
    );
  }

  getWeights(): WeightMap {
    return { logits: { shape: [this.logits.length], data: new Float32Array(this.logits) } };
  }

  setWeights(weights: WeightMap): void {
    this.logits = new Float32Array(weights.logits!.data);
  }
}
