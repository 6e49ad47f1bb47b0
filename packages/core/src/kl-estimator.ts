/**
 * Input of a {@link KlEstimator}: the log-probs of the same sampled tokens
 * under the current policy and under the frozen reference, of equal shape.
 */
export interface KlEstimatorInput<Values> {
  /** `log pi(y_t)`, the policy's log-prob of each sampled token. */
  logProbs: Values;
  /** `log pi_ref(y_t)`, the reference's log-prob of the same tokens. */
  refLogProbs: Values;
}

/**
 * A single-sample, per-token estimator of KL(pi || pi_ref) from the log-probs
 * of tokens sampled from pi (KL: the Kullback-Leibler divergence; Schulman
 * 2020, "Approximating KL divergence", gives k1, k2 and k3). The trainer uses
 * one instance for the KL term of the loss, the KL placed in the reward and
 * the `klToReference` metric, so the three always agree.
 *
 * Guarantees: `estimate` and `estimateTensor` give the same values (the
 * tensor one in float32) with the input's shape, one value per token;
 * `estimateTensor` is differentiable with respect to `logProbs`; a token whose
 * two log-probs are equal gives 0; finite inputs give finite values. Both are
 * pure and never mutate their input.
 *
 * @example
 * ```ts
 * const k2: KlEstimator<tf.Tensor> = {
 *   name: 'k2',
 *   estimate: ({ logProbs, refLogProbs }) => logProbs.map((p, t) => 0.5 * (p - refLogProbs[t]!) ** 2),
 *   estimateTensor: ({ logProbs, refLogProbs }) => tf.mul(0.5, tf.square(tf.sub(logProbs, refLogProbs))),
 * };
 * ```
 */
export interface KlEstimator<TensorType = unknown> {
  readonly name: string;
  /** Per-token values on plain numbers (the KL in the reward and the KL metric). */
  estimate(input: KlEstimatorInput<readonly number[]>): number[];
  /** Per-token values on tensors of any shape, with gradient (the KL term of the loss). */
  estimateTensor(input: KlEstimatorInput<TensorType>): TensorType;
}
