import { OnnxGraphBuilder, onnx, type ValueSpec } from './onnx-graph-builder';

/**
 * ONNX opset of the learning graphs: ScatterND's `reduction = 'add'` (the
 * embedding gradient) needs 16; ReduceMean and ReduceMax still take `axes`
 * as an attribute in 17.
 */
export const learningGraphOpsetVersion = 17;

/** One weight of a learning graph: its name (a graph input), shape in the tfjs model's layout, and whether it gets a gradient. */
export interface LearningGraphWeight {
  name: string;
  shape: number[];
  /** False for a LoRA model's frozen base weights. */
  trainable: boolean;
}

/** The graph output holding the gradient of the weight `name`. */
export function learningGradientOutputName(name: string): string {
  return `gradient.${name}`;
}

const lowestFloat32 = -3.4028234663852886e38;

/**
 * The pieces every learning graph (GPT-2, Llama) is built from, over one
 * {@link OnnxGraphBuilder}: activations kept 2-D (`N = B T` rows) so every
 * projection is one Gemm, attention in `[B, H, T, d]`, and the log-prob head
 * of `tokenLogProbs` with its backward pass. `trainable` names the weights
 * whose gradient outputs are built.
 */
export class LearningGraphParts {
  readonly g = new OnnxGraphBuilder();
  private readonly trainable: ReadonlySet<string>;
  /** `Shape(input_ids)`, `[2]`. */
  readonly idShape: string;
  /** `[T]` as a 1-D int64 tensor. */
  readonly sequenceLength: string;
  /** `0 .. T-1`, int64 `[T]`. */
  readonly positions: string;
  /** `input_ids` flattened to `[N]`. */
  readonly flatIds: string;

  constructor(weights: readonly LearningGraphWeight[]) {
    this.trainable = new Set(weights.filter((weight) => weight.trainable).map(({ name }) => name));
    const { g } = this;
    this.idShape = g.op('Shape', ['input_ids']);
    this.sequenceLength = g.op('Slice', [this.idShape, this.ints([1]), this.ints([2])]);
    this.positions = g.op('Range', [
      g.int64Constant(0),
      g.op('Squeeze', [this.sequenceLength, this.ints([0])]),
      g.int64Constant(1),
    ]);
    this.flatIds = g.op('Reshape', ['input_ids', this.ints([-1])]);
  }

  scalar(value: number): string {
    return this.g.floatScalar(value);
  }
  ints(values: number[]): string {
    return this.g.int64Constant(values);
  }
  add(a: string, b: string): string {
    return this.g.op('Add', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.g.op('Mul', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.g.op('Sub', [a, b]);
  }
  /** Sum over the rows of a 2-D tensor (a bias or gain gradient). */
  rowSum(x: string): string {
    return this.g.op('ReduceSum', [x, this.ints([0])], { keepdims: 0 });
  }
  lastMean(x: string): string {
    return this.g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  }
  lastSum(x: string): string {
    return this.g.op('ReduceSum', [x, this.ints([-1])], { keepdims: 1 });
  }
  transposeLast(x: string): string {
    return this.g.op('Transpose', [x], { perm: [0, 1, 3, 2] });
  }

  isTrainable(name: string): boolean {
    return this.trainable.has(name);
  }

  /** Names the gradient output of `name`; a frozen weight's is never built (`build` is not called). */
  gradient(name: string, build: () => string): void {
    if (this.trainable.has(name))
      this.g.op('Identity', [build()], {}, learningGradientOutputName(name));
  }

  /** `[-1, T, count, d]`, the shape that splits `[N, count d]` into heads. */
  headShape(count: number, headSize: number): string {
    return this.g.op(
      'Concat',
      [this.ints([-1]), this.sequenceLength, this.ints([count, headSize])],
      { axis: 0 },
    );
  }

  /**
   * Allowed (query, key) pairs `[B, 1, groups T, T]`: causal (key <= query)
   * for each of `groups` query heads stacked along the rows, and real keys
   * (`attention_mask`, right padding).
   */
  attentionMask(groups: number): string {
    const { g } = this;
    const causal = g.op('LessOrEqual', [
      g.op('Unsqueeze', [this.positions, this.ints([0])]),
      g.op('Unsqueeze', [this.positions, this.ints([1])]),
    ]);
    const stacked = groups === 1 ? causal : g.op('Tile', [causal, this.ints([groups, 1])]);
    const realKeys = g.op('Unsqueeze', [
      g.op('Cast', ['attention_mask'], { to: onnx.TensorProto.DataType.BOOL }),
      this.ints([1, 2]),
    ]);
    return g.op('And', [stacked, realKeys]);
  }

  /**
   * Softmax attention `P = softmax(q k^T)` over allowed keys, `context = P v`,
   * with `q` already scaled by `1 / sqrt(d)` (Vaswani et al. 2017, eq. 1).
   */
  attend(
    query: string,
    key: string,
    value: string,
    allowed: string,
  ): { probabilities: string; context: string } {
    const { g } = this;
    const scores = g.op('MatMul', [query, this.transposeLast(key)]);
    const masked = g.op('Where', [allowed, scores, this.scalar(lowestFloat32)]);
    const probabilities = g.op('Softmax', [masked], { axis: -1 });
    return { probabilities, context: g.op('MatMul', [probabilities, value]) };
  }

  /**
   * The backward pass of {@link attend}: `dV = P^T dO`, `dP = dO V^T`,
   * `dS = P (dP - rowsum(dP P))`, `dq = dS k`, `dk = dS^T q`.
   */
  attendBackward(
    dContext: string,
    saved: { query: string; key: string; value: string; probabilities: string },
  ): { dQuery: string; dKey: string; dValue: string } {
    const { g } = this;
    const dProbabilities = g.op('MatMul', [dContext, this.transposeLast(saved.value)]);
    const dValue = g.op('MatMul', [this.transposeLast(saved.probabilities), dContext]);
    const dScores = this.mul(
      saved.probabilities,
      this.sub(dProbabilities, this.lastSum(this.mul(dProbabilities, saved.probabilities))),
    );
    return {
      dQuery: g.op('MatMul', [dScores, saved.key]),
      dKey: g.op('MatMul', [this.transposeLast(dScores), saved.query]),
      dValue,
    };
  }

  /** `x W (+ b)` with `W` stored `[in, out]`. */
  linear(x: string, weight: string, bias: string | undefined): string {
    const y = this.g.op('MatMul', [x, weight]);
    return bias === undefined ? y : this.add(y, bias);
  }

  /** Records `dW = x^T dy` and `db = sum(dy)` (when trainable) and returns `dx = dy W^T`. */
  linearBackward(x: string, dy: string, weight: string, bias: string | undefined): string {
    this.gradient(weight, () => this.g.op('Gemm', [x, dy], { transA: 1 }));
    if (bias !== undefined) this.gradient(bias, () => this.rowSum(dy));
    return this.g.op('Gemm', [dy, weight], { transB: 1 });
  }

  /**
   * The log-prob head of `tokenLogProbs` on `logits [N, V]`: `z = logits / T`,
   * outputs `logp [B, T]`, `logp[b, t] = log_softmax(z[b, t-1])[x[b, t]]`, and
   * `entropy [B, T]` of that distribution, both 0 at `t = 0` and on padding.
   * Returns what {@link logProbsHeadBackward} needs.
   */
  logProbsHead(logits: string): LogProbsHead {
    const { g } = this;
    const scaled = this.mul(logits, 'inverse_temperature');
    const maximum = g.op('ReduceMax', [scaled], { axes: [-1], keepdims: 1 });
    const exponentials = g.op('Exp', [this.sub(scaled, maximum)]);
    const sumExponentials = this.lastSum(exponentials);
    const logSumExp = this.add(maximum, g.op('Log', [sumExponentials])); // [N, 1]
    const probabilities = g.op('Div', [exponentials, sumExponentials]); // [N, V]
    const entropyRows = this.sub(logSumExp, this.lastSum(this.mul(probabilities, scaled))); // [N, 1]
    // Row (b, t) predicts token t + 1; the last column predicts nothing (target 0, then masked).
    const targets = g.op('Reshape', [this.shiftLeft('input_ids'), this.ints([-1, 1])]); // [N, 1]
    const predicted = g.op('Reshape', [
      this.sub(g.op('GatherElements', [scaled, targets], { axis: 1 }), logSumExp),
      this.idShape,
    ]);
    g.op('Mul', [this.shiftRight(predicted), 'attention_mask'], {}, 'logp');
    g.op(
      'Mul',
      [this.shiftRight(g.op('Reshape', [entropyRows, this.idShape])), 'attention_mask'],
      {},
      'entropy',
    );
    return { scaled, logSumExp, probabilities, entropyRows, targets };
  }

  /**
   * `d logits [N, V]` of `sum(d_logp logp + d_entropy entropy)`:
   * `dz = dlogp (onehot(y) - p) - dH p (log p + H)`, then `dlogits = dz / T`.
   */
  logProbsHeadBackward(head: LogProbsHead, vocabSize: number): string {
    const { g } = this;
    const upstream = (name: string) =>
      g.op('Reshape', [this.shiftLeft(this.mul(name, 'attention_mask')), this.ints([-1, 1])]);
    const dPredicted = upstream('d_logp');
    const dEntropy = upstream('d_entropy');
    const oneHot = g.op('OneHot', [
      g.op('Reshape', [head.targets, this.ints([-1])]),
      g.int64Constant(vocabSize),
      g.floatTensor(g.fresh('one_hot_values'), [2], new Float32Array([0, 1])),
    ]);
    const logProbabilities = this.add(this.sub(head.scaled, head.logSumExp), head.entropyRows);
    return this.mul(
      this.sub(
        this.mul(this.sub(oneHot, head.probabilities), dPredicted),
        this.mul(this.mul(head.probabilities, logProbabilities), dEntropy),
      ),
      'inverse_temperature',
    );
  }

  /**
   * Records the gradient of a token embedding `[V, E]`: the rows of `dInput [N, E]`
   * scattered (added) onto their tokens, on top of `base` (a tied head's `dlogits^T h`),
   * or of zeros.
   */
  embeddingGradient(name: string, shape: [number, number], dInput: string, base?: string): void {
    const { g } = this;
    this.gradient(name, () =>
      g.op(
        'ScatterND',
        [
          base ?? g.op('ConstantOfShape', [this.ints(shape)]),
          g.op('Unsqueeze', [this.flatIds, this.ints([1])]),
          dInput,
        ],
        { reduction: { string: 'add' } },
      ),
    );
  }

  /**
   * The graph's inputs and outputs in the common convention (`input_ids`,
   * `attention_mask`, `extraInputs`, `inverse_temperature`, the weights, and
   * with gradients `d_logp`, `d_entropy`; outputs `logp`, `entropy` and a
   * gradient per trainable weight) as a serialized model.
   */
  toModel(options: {
    name: string;
    docString: string;
    weights: readonly LearningGraphWeight[];
    withGradients: boolean;
    extraInputs?: ValueSpec[];
  }): Uint8Array {
    const float = onnx.TensorProto.DataType.FLOAT;
    const int64 = onnx.TensorProto.DataType.INT64;
    const pair: ValueSpec['dimensions'] = ['batch', 'sequence'];
    const inputs: ValueSpec[] = [
      { name: 'input_ids', elementType: int64, dimensions: pair },
      { name: 'attention_mask', elementType: float, dimensions: pair },
      ...(options.extraInputs ?? []),
      { name: 'inverse_temperature', elementType: float, dimensions: [] },
      ...options.weights.map(({ name, shape }) => ({
        name,
        elementType: float,
        dimensions: shape,
      })),
    ];
    const outputs: ValueSpec[] = [
      { name: 'logp', elementType: float, dimensions: pair },
      { name: 'entropy', elementType: float, dimensions: pair },
    ];
    if (options.withGradients) {
      inputs.push(
        { name: 'd_logp', elementType: float, dimensions: pair },
        { name: 'd_entropy', elementType: float, dimensions: pair },
      );
      for (const { name, shape } of options.weights.filter((weight) => weight.trainable))
        outputs.push({
          name: learningGradientOutputName(name),
          elementType: float,
          dimensions: shape,
        });
    }
    return this.g.toModel({
      name: options.name,
      inputs,
      outputs,
      opsetVersion: learningGraphOpsetVersion,
      producerName: '@cohort/tfjs',
      docString: options.docString,
    });
  }

  private shiftLeft(value: string): string {
    const { g } = this;
    return g.op('Pad', [
      g.op('Slice', [value, this.ints([1]), this.ints([Number.MAX_SAFE_INTEGER]), this.ints([1])]),
      this.ints([0, 0, 0, 1]),
    ]);
  }

  private shiftRight(value: string): string {
    const { g } = this;
    return g.op('Pad', [
      g.op('Slice', [value, this.ints([0]), this.ints([-1]), this.ints([1])]),
      this.ints([0, 1, 0, 0]),
    ]);
  }
}

/** What {@link LearningGraphParts.logProbsHead} saves for its backward pass. */
export interface LogProbsHead {
  scaled: string;
  logSumExp: string;
  probabilities: string;
  entropyRows: string;
  targets: string;
}
