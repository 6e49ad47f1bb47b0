import { InvalidArgumentError, type KlEstimator } from '@cohort/core';
import {
  aggregateTokenValues,
  assertFiniteTensor,
  clampPreservingNaN,
  k3OfLogRatioTensor,
  klPerTokenTensor,
} from '@cohort/kl';
import * as tf from '@tensorflow/tfjs';
import { highEntropyMask } from './high-entropy-mask';
import type { SurrogateOptions } from './objective-options';
import { ppo } from './presets';
import { stopGradient } from './stop-gradient';

/**
 * The log-ratio `logp - logp_old` is clamped to `[-20, 20]` before `exp` (as
 * verl does), so one wild token cannot produce an infinite loss or a NaN
 * gradient; a ratio beyond `e^20` is far outside any clip range.
 */
export const MAX_LOG_RATIO = 20;

/** The tensors an objective consumes. Per-token tensors are `[B, L]`. */
export interface SurrogateInputs {
  /** Current policy log-probs of the sampled tokens, with gradient. */
  logProbs: tf.Tensor;
  /** Log-probs under the policy that sampled the tokens (no gradient). */
  oldLogProbs: tf.Tensor;
  /** `[B]` (one per sequence) or `[B, L]` (one per token). */
  advantages: tf.Tensor;
  /** 1 on tokens that count in the loss (the agent's), 0 elsewhere. */
  lossMask: tf.Tensor;
  /** Reference-model log-probs, for the KL term and the KL metric. */
  refLogProbs?: tf.Tensor;
  /** Per-position entropy of the current policy, for the entropy bonus and metric. */
  entropy?: tf.Tensor;
  /**
   * Log-probs of the tokens under the engine that sampled them (e.g. ONNX
   * Runtime), when it differs from the one that computed `oldLogProbs`; used
   * by `samplerCorrection`.
   */
  samplerLogProbs?: tf.Tensor;
}

/** Options of {@link clippedSurrogateLoss}: inputs, settings (defaults: PPO), and `checkFinite`. */
export type ClippedSurrogateLossOptions = SurrogateInputs &
  Partial<Omit<SurrogateOptions, 'klEstimator'>> & {
    /**
     * The KL estimator of the KL term: a built-in one by name, or any
     * {@link KlEstimator} instance (then `klClamp`, `klLogRatioClamp` and
     * `klStraightThrough`, which shape the built-in ones, must be unset).
     */
    klEstimator?: SurrogateOptions['klEstimator'] | KlEstimator<tf.Tensor>;
    /** Read every input and throw NonFiniteError at the first NaN/Infinity (costs one read per input). */
    checkFinite?: boolean;
  };

/** Validates a {@link KlEstimator} instance given in place of a built-in estimator's name. */
function validateKlEstimatorInstance(
  estimator: KlEstimator<tf.Tensor>,
  settings: SurrogateOptions,
): void {
  if (
    typeof estimator !== 'object' ||
    estimator === null ||
    typeof estimator.estimateTensor !== 'function'
  ) {
    throw new InvalidArgumentError({
      argument: 'klEstimator',
      value: estimator,
      message: "must be 'k1', 'k2', 'k3', 'abs' or a KlEstimator with an estimateTensor method",
    });
  }
  for (const name of ['klClamp', 'klLogRatioClamp', 'klStraightThrough'] as const) {
    if (settings[name] !== undefined) {
      throw new InvalidArgumentError({
        argument: name,
        value: settings[name],
        message: `would not take effect: it shapes the built-in estimators, and klEstimator is the instance '${estimator.name}'`,
      });
    }
  }
}

/**
 * Diagnostics as plain numbers. Rates and means are over masked tokens
 * (token-mean, whatever the loss aggregation), 0 when no token is masked in.
 */
export type SurrogateMetrics = {
  /** The aggregated total loss. */
  loss: number;
  /** The aggregated policy-gradient term alone. */
  policyLoss: number;
  /** Fraction of tokens with A < 0 and ratio < 1 - clipLow (gradient cut by the clip). */
  clipFractionLow: number;
  /** Fraction of tokens with A > 0 and ratio > 1 + clipHigh. */
  clipFractionHigh: number;
  /** Fraction of tokens with A < 0 whose loss the dual clip capped. */
  clipFractionDual: number;
  /** k3 estimate of KL between the old and the current policy, `exp(d) - d - 1`, `d = logp_old - logp`. */
  approxKlToOld: number;
  /** Mean importance ratio (the sequence ratio on each token for `'sequence'`). */
  meanRatio: number;
  /** Number of masked-in tokens. */
  tokenCount: number;
  /** Mean entropy, when `entropy` was given. */
  entropy?: number;
  /** Mean per-token KL to the reference (the configured estimator), when `refLogProbs` was given. */
  klToReference?: number;
  /** Fraction of masked tokens kept by `topEntropyQuantile`, when set. */
  entropyMaskFraction?: number;
  /** Mean sampler-correction weight over masked tokens, when `samplerCorrection` is set. */
  samplerWeightMean?: number;
  /** Fraction of masked tokens whose sampler weight was truncated or masked, when set. */
  samplerWeightClippedFraction?: number;
};

/** The defaults are PPO's; the SAPO temperatures are TRL's and verl's. */
const DEFAULT_SETTINGS: SurrogateOptions = {
  ...ppo,
  policyLoss: 'clip',
  sapoTemperaturePositive: 1,
  sapoTemperatureNegative: 1.05,
};

const OPTIONAL_SETTINGS = [
  'dualClip',
  'constantLength',
  'aggregationGroupSize',
  'microBatchSize',
  'emptyRows',
  'klClamp',
  'klLogRatioClamp',
  'klStraightThrough',
  'topEntropyQuantile',
  'samplerCorrection',
] as const;

/** A user estimator's per-token KL, checked for shape and zeroed off the mask (whatever it gives there). */
function userKl(
  estimator: KlEstimator<tf.Tensor>,
  logProbs: tf.Tensor,
  refLogProbs: tf.Tensor,
  keep: (values: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const values = estimator.estimateTensor({ logProbs, refLogProbs });
  requireShape(
    `klEstimator '${estimator.name}' estimateTensor`,
    values,
    logProbs.shape,
    'one value per token, the shape of logProbs',
  );
  return keep(values);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function requireShape(
  name: string,
  tensor: tf.Tensor | undefined,
  expected: readonly number[],
  what: string,
): void {
  if (tensor === undefined) return;
  if (tensor == null || !Array.isArray((tensor as { shape?: unknown }).shape)) {
    throw new InvalidArgumentError({
      argument: name,
      value: tensor,
      message: 'must be a tf.Tensor',
    });
  }
  const ok =
    tensor.shape.length === expected.length &&
    tensor.shape.every((size, index) => size === expected[index]);
  if (!ok) {
    throw new InvalidArgumentError({
      argument: name,
      value: shapeText(tensor.shape),
      message: `must have shape ${shapeText(expected)} (${what}), got ${shapeText(tensor.shape)}`,
    });
  }
}

function validateSettings(settings: SurrogateOptions): void {
  const {
    clipLow,
    clipHigh,
    dualClip,
    klCoefficient,
    entropyCoefficient,
    constantLength,
    klClamp,
  } = settings;
  if (!(Number.isFinite(clipLow) && clipLow >= 0 && clipLow <= 1)) {
    throw new InvalidArgumentError({
      argument: 'clipLow',
      value: clipLow,
      message: 'must be in [0, 1] (1: no lower bound)',
    });
  }
  if (!(Number.isFinite(clipHigh) && clipHigh >= 0)) {
    throw new InvalidArgumentError({
      argument: 'clipHigh',
      value: clipHigh,
      message: 'must be a finite number >= 0',
    });
  }
  if (dualClip !== undefined && !(Number.isFinite(dualClip) && dualClip > 1)) {
    throw new InvalidArgumentError({
      argument: 'dualClip',
      value: dualClip,
      message: 'must be a finite number > 1',
    });
  }
  if (!(Number.isFinite(klCoefficient) && klCoefficient >= 0)) {
    throw new InvalidArgumentError({
      argument: 'klCoefficient',
      value: klCoefficient,
      message: 'must be a finite number >= 0',
    });
  }
  if (!Number.isFinite(entropyCoefficient)) {
    throw new InvalidArgumentError({
      argument: 'entropyCoefficient',
      value: entropyCoefficient,
      message: 'must be a finite number',
    });
  }
  if (constantLength !== undefined && !(Number.isFinite(constantLength) && constantLength > 0)) {
    throw new InvalidArgumentError({
      argument: 'constantLength',
      value: constantLength,
      message: 'must be a positive finite number',
    });
  }
  if (klClamp !== undefined && !(klClamp > 0)) {
    throw new InvalidArgumentError({
      argument: 'klClamp',
      value: klClamp,
      message: 'must be a positive number',
    });
  }
  const policyLoss = settings.policyLoss ?? 'clip';
  if (policyLoss !== 'clip' && policyLoss !== 'cispo' && policyLoss !== 'sapo') {
    throw new InvalidArgumentError({
      argument: 'policyLoss',
      value: policyLoss,
      message: "must be 'clip', 'cispo' or 'sapo'",
    });
  }
  if (policyLoss !== 'clip' && dualClip !== undefined) {
    throw new InvalidArgumentError({
      argument: 'dualClip',
      value: dualClip,
      message: `applies to policyLoss 'clip' only, not '${policyLoss}'`,
    });
  }
  if (policyLoss !== 'clip' && !settings.clip) {
    throw new InvalidArgumentError({
      argument: 'clip',
      value: false,
      message: `applies to policyLoss 'clip' only; '${policyLoss}' has its own weighting`,
    });
  }
  for (const name of ['sapoTemperaturePositive', 'sapoTemperatureNegative'] as const) {
    const value = settings[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InvalidArgumentError({
        argument: name,
        value,
        message: 'must be a finite number > 0',
      });
    }
  }
  for (const name of ['klLogRatioClamp'] as const) {
    const value = settings[name];
    if (value !== undefined && !(value > 0)) {
      throw new InvalidArgumentError({
        argument: name,
        value,
        message: 'must be a positive number',
      });
    }
  }
  const quantile = settings.topEntropyQuantile;
  if (quantile !== undefined && !(quantile > 0 && quantile <= 1)) {
    throw new InvalidArgumentError({
      argument: 'topEntropyQuantile',
      value: quantile,
      message: 'must be in (0, 1]',
    });
  }
  const correction = settings.samplerCorrection;
  if (correction !== undefined) {
    const modes = ['token-truncate', 'token-mask', 'sequence-truncate', 'sequence-mask'];
    if (!modes.includes(correction.mode)) {
      throw new InvalidArgumentError({
        argument: 'samplerCorrection.mode',
        value: correction.mode,
        message: `must be one of ${modes.join(', ')}`,
      });
    }
    if (!(correction.max > 0)) {
      throw new InvalidArgumentError({
        argument: 'samplerCorrection.max',
        value: correction.max,
        message: 'must be a number > 0',
      });
    }
    if (
      correction.min !== undefined &&
      !(correction.min >= 0 && correction.min <= correction.max)
    ) {
      throw new InvalidArgumentError({
        argument: 'samplerCorrection.min',
        value: correction.min,
        message: `must be in [0, max = ${correction.max}]`,
      });
    }
  }
  if (settings.ratioLevel !== 'token' && settings.ratioLevel !== 'sequence') {
    throw new InvalidArgumentError({
      argument: 'ratioLevel',
      value: settings.ratioLevel,
      message: "must be 'token' or 'sequence'",
    });
  }
}

/**
 * The generalized clipped surrogate objective, from which vanilla policy
 * gradient, PPO, GRPO, Dr. GRPO, DAPO and GSPO are configurations.
 *
 * Per masked token `t` of sequence `i`, with `A` the advantage (broadcast over
 * the sequence when `[B]`):
 * - ratio `rho = exp(logp - logp_old)` (`'token'`, PPO: Schulman et al. 2017), or
 *   `rho_i = exp(mean_{t in mask} (logp - logp_old))` on every token of `i`
 *   (`'sequence'`, GSPO: Zheng et al. 2025, eq. 7);
 * - `pg = -min(rho A, clip(rho, 1 - clipLow, 1 + clipHigh) A)` (clip-higher:
 *   Yu et al. 2025), or `pg = -rho A` when `clip` is false (its gradient at
 *   `rho = 1` is the REINFORCE gradient `-A grad logp`);
 * - dual clip (Ye et al. 2020): for `A < 0`, `pg = min(pg, -c A)`;
 * - or, with `policyLoss: 'cispo'` (MiniMax-M1 2025, eq. 4; verl
 *   `compute_policy_loss_cispo`, TRL `loss_type='cispo'`):
 *   `pg = -sg(clip(rho, 1 - clipLow, 1 + clipHigh)) A logp`;
 * - or, with `policyLoss: 'sapo'` (Gao et al. 2025, SAPO; verl
 *   `compute_policy_loss_sapo`, TRL `loss_type='sapo'`):
 *   `pg = -(4 / tau) sigmoid(tau (rho - 1)) A`, `tau` = `sapoTemperaturePositive`
 *   for `A > 0`, else `sapoTemperatureNegative`; its gradient at `rho = 1` is
 *   the policy gradient;
 * - `topEntropyQuantile` (TRL): `pg` (and the entropy bonus) only on the
 *   masked tokens whose entropy is in the top quantile; the denominator of
 *   the aggregation keeps every masked token, as TRL;
 * - `samplerCorrection` (TRL `vllm_importance_sampling_correction`, verl TIS):
 *   `pg` times the truncated or masked weight `exp(logp_old - logp_sampler)`
 *   (per token, or its product over the sequence);
 * - `loss_t = pg + beta * k(logp, logp_ref) - entropyCoefficient * H_t`;
 * - aggregated by `aggregation` (see `aggregateTokenValues` in `@cohort/kl`):
 *   `'token-mean'`, `'sequence-mean'` (GRPO, Shao et al. 2024, eq. 3) or
 *   `'constant'` (Dr. GRPO, Liu et al. 2025).
 *
 * Masked-out positions are replaced by 0 before any nonlinear op, so padding
 * values (even NaN) never reach the loss or the gradient; an all-zero mask
 * gives loss 0. The log-ratio is clamped to +/-{@link MAX_LOG_RATIO}.
 * Metrics are read from the backend with a single `dataSync` at the end.
 *
 * @throws InvalidArgumentError naming the argument on bad shapes or settings;
 *   NonFiniteError on NaN/Infinity when `checkFinite` is set.
 * @example
 * ```ts
 * const { loss, metrics } = clippedSurrogateLoss({ logProbs, oldLogProbs, advantages, lossMask, clipHigh: 0.28 });
 * ```
 */
export function clippedSurrogateLoss(options: ClippedSurrogateLossOptions): {
  loss: tf.Scalar;
  metrics: SurrogateMetrics;
} {
  const {
    logProbs,
    oldLogProbs,
    advantages,
    lossMask,
    refLogProbs,
    entropy,
    samplerLogProbs,
    checkFinite,
  } = options;
  const settings: SurrogateOptions = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS).concat(OPTIONAL_SETTINGS)) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (value !== undefined && key !== 'klEstimator')
      (settings as unknown as Record<string, unknown>)[key] = value;
  }
  if (options.clipHigh === undefined && options.clipLow !== undefined)
    settings.clipHigh = options.clipLow;
  const klEstimatorInstance =
    options.klEstimator !== undefined && typeof options.klEstimator !== 'string'
      ? options.klEstimator
      : undefined;
  if (typeof options.klEstimator === 'string') settings.klEstimator = options.klEstimator;
  validateSettings(settings);
  if (klEstimatorInstance !== undefined) validateKlEstimatorInstance(klEstimatorInstance, settings);

  if (
    logProbs == null ||
    !Array.isArray((logProbs as { shape?: unknown }).shape) ||
    logProbs.rank !== 2
  ) {
    throw new InvalidArgumentError({
      argument: 'logProbs',
      value: logProbs == null ? logProbs : shapeText((logProbs as tf.Tensor).shape ?? []),
      message: 'must be a rank-2 tf.Tensor [batch, maxLength]',
    });
  }
  const shape = logProbs.shape as [number, number];
  const perToken = `[batch, maxLength] as logProbs`;
  requireShape('oldLogProbs', oldLogProbs, shape, perToken);
  requireShape('lossMask', lossMask, shape, perToken);
  requireShape('refLogProbs', refLogProbs, shape, perToken);
  requireShape('entropy', entropy, shape, perToken);
  requireShape('samplerLogProbs', samplerLogProbs, shape, perToken);
  if (advantages == null || !Array.isArray((advantages as { shape?: unknown }).shape)) {
    throw new InvalidArgumentError({
      argument: 'advantages',
      value: advantages,
      message: 'must be a tf.Tensor',
    });
  }
  requireShape(
    'advantages',
    advantages,
    advantages.rank === 1 ? [shape[0]] : shape,
    'one per sequence [batch], or one per token [batch, maxLength]',
  );
  if (settings.klCoefficient > 0 && refLogProbs === undefined) {
    throw new InvalidArgumentError({
      argument: 'refLogProbs',
      value: undefined,
      message: `is required when klCoefficient > 0 (klCoefficient = ${settings.klCoefficient})`,
    });
  }
  if (settings.entropyCoefficient !== 0 && entropy === undefined) {
    throw new InvalidArgumentError({
      argument: 'entropy',
      value: undefined,
      message: `is required when entropyCoefficient != 0 (entropyCoefficient = ${settings.entropyCoefficient})`,
    });
  }
  if (settings.topEntropyQuantile !== undefined && entropy === undefined) {
    throw new InvalidArgumentError({
      argument: 'entropy',
      value: undefined,
      message: `is required when topEntropyQuantile is set (topEntropyQuantile = ${settings.topEntropyQuantile})`,
    });
  }
  if (settings.samplerCorrection !== undefined && samplerLogProbs === undefined) {
    throw new InvalidArgumentError({
      argument: 'samplerLogProbs',
      value: undefined,
      message: 'is required when samplerCorrection is set',
    });
  }
  if (settings.samplerCorrection === undefined && samplerLogProbs !== undefined) {
    throw new InvalidArgumentError({
      argument: 'samplerLogProbs',
      value: 'given',
      message: 'is only used by samplerCorrection, which is not set',
    });
  }
  if (checkFinite) {
    assertFiniteTensor('logProbs', logProbs);
    assertFiniteTensor('oldLogProbs', oldLogProbs);
    assertFiniteTensor('advantages', advantages);
    assertFiniteTensor('lossMask', lossMask);
    if (refLogProbs) assertFiniteTensor('refLogProbs', refLogProbs);
    if (entropy) assertFiniteTensor('entropy', entropy);
    if (samplerLogProbs) assertFiniteTensor('samplerLogProbs', samplerLogProbs);
  }
  const entropyMask =
    settings.topEntropyQuantile !== undefined && settings.topEntropyQuantile < 1 && entropy
      ? highEntropyMask({ entropy, mask: lossMask, topQuantile: settings.topEntropyQuantile })
      : undefined;

  const { loss, metricTensor } = tf.tidy(() => {
    const active = tf.greater(lossMask, 0);
    const maskFloat = tf.cast(active, 'float32');
    const zeros = tf.zeros(shape);
    const keep = (values: tf.Tensor) => tf.where(active, tf.cast(values, 'float32'), zeros);
    const tokenCount = tf.sum(maskFloat);
    const maskedMean = (values: tf.Tensor) =>
      tf.div(tf.sum(keep(values)), tf.maximum(tokenCount, 1));

    const tokenLogRatio = keep(tf.sub(logProbs, oldLogProbs));
    let logRatio = tokenLogRatio;
    if (settings.ratioLevel === 'sequence') {
      const perSequence = tf.div(
        tf.sum(tokenLogRatio, 1, true),
        tf.maximum(tf.sum(maskFloat, 1, true), 1),
      );
      logRatio = keep(tf.mul(perSequence, tf.onesLike(tokenLogRatio)));
    }
    const ratio = tf.exp(clampPreservingNaN(logRatio, -MAX_LOG_RATIO, MAX_LOG_RATIO));
    const advantage = keep(
      advantages.rank === 1 ? tf.mul(tf.expandDims(advantages, 1), tf.onesLike(zeros)) : advantages,
    );
    const negative = tf.less(advantage, 0);
    const keepLogProbs = keep(logProbs);

    const low = 1 - settings.clipLow;
    const high = 1 + settings.clipHigh;
    const policyLoss = settings.policyLoss ?? 'clip';
    let policyTerm: tf.Tensor;
    let dualActive: tf.Tensor = tf.zerosLike(zeros);
    if (policyLoss === 'cispo') {
      // The clipped ratio is a constant weight: its gradient is cut (stop-gradient, MiniMax-M1 eq. 4).
      const weight = stopGradient(clampPreservingNaN(ratio, low, high));
      policyTerm = tf.neg(tf.mul(tf.mul(weight, advantage), keepLogProbs));
    } else if (policyLoss === 'sapo') {
      const temperature = tf.where(
        tf.greater(advantage, 0),
        tf.fill(shape, settings.sapoTemperaturePositive ?? 1),
        tf.fill(shape, settings.sapoTemperatureNegative ?? 1.05),
      );
      const gate = tf.div(
        tf.mul(tf.sigmoid(tf.mul(temperature, tf.sub(ratio, 1))), 4),
        temperature,
      );
      policyTerm = tf.neg(tf.mul(gate, advantage));
    } else {
      policyTerm = tf.neg(tf.mul(ratio, advantage));
      if (settings.clip) {
        policyTerm = tf.maximum(
          policyTerm,
          tf.neg(tf.mul(clampPreservingNaN(ratio, low, high), advantage)),
        );
      }
      if (settings.dualClip !== undefined) {
        const cap = tf.mul(-settings.dualClip, advantage);
        dualActive = tf.logicalAnd(negative, tf.greater(policyTerm, cap));
        policyTerm = tf.where(negative, tf.minimum(policyTerm, cap), policyTerm);
      }
    }
    if (entropyMask !== undefined) policyTerm = tf.mul(policyTerm, entropyMask);
    let samplerWeight: tf.Tensor | undefined;
    let samplerClipped: tf.Tensor | undefined;
    const correction = settings.samplerCorrection;
    if (correction !== undefined && samplerLogProbs !== undefined) {
      let logWeight = keep(tf.sub(oldLogProbs, samplerLogProbs));
      if (correction.mode.startsWith('sequence'))
        logWeight = tf.mul(tf.sum(logWeight, 1, true), tf.onesLike(logWeight));
      const weight = tf.exp(clampPreservingNaN(logWeight, -MAX_LOG_RATIO, MAX_LOG_RATIO));
      const lower = correction.min ?? 0;
      const outside = tf.logicalOr(tf.less(weight, lower), tf.greater(weight, correction.max));
      samplerClipped = outside;
      samplerWeight = correction.mode.endsWith('truncate')
        ? clampPreservingNaN(weight, lower, correction.max)
        : tf.where(outside, tf.zerosLike(weight), weight);
      policyTerm = tf.mul(policyTerm, samplerWeight);
    }

    let total = policyTerm;
    let klMean: tf.Tensor | undefined;
    if (refLogProbs !== undefined) {
      const kl = klEstimatorInstance
        ? userKl(klEstimatorInstance, keep(logProbs), keep(refLogProbs), keep)
        : klPerTokenTensor({
            logProbs: keep(logProbs),
            refLogProbs: keep(refLogProbs),
            estimator: settings.klEstimator,
            ...(settings.klClamp === undefined ? {} : { clamp: settings.klClamp }),
            ...(settings.klLogRatioClamp === undefined
              ? {}
              : { logRatioClamp: settings.klLogRatioClamp }),
            ...(settings.klStraightThrough ? { straightThrough: true } : {}),
          });
      klMean = maskedMean(kl);
      if (settings.klCoefficient > 0) total = tf.add(total, tf.mul(settings.klCoefficient, kl));
    }
    let entropyMean: tf.Tensor | undefined;
    if (entropy !== undefined) {
      const entropyValues = keep(entropy);
      entropyMean = maskedMean(entropyValues);
      // With topEntropyQuantile the bonus acts on the same tokens as the policy term (TRL).
      const bonusValues =
        entropyMask === undefined ? entropyValues : tf.mul(entropyValues, entropyMask);
      if (settings.entropyCoefficient !== 0)
        total = tf.sub(total, tf.mul(settings.entropyCoefficient, bonusValues));
    }

    const aggregate = (values: tf.Tensor) =>
      aggregateTokenValues({
        values,
        lossMask: maskFloat,
        mode: settings.aggregation,
        ...(settings.constantLength === undefined
          ? {}
          : { constantLength: settings.constantLength }),
        ...(settings.aggregationGroupSize === undefined
          ? {}
          : { groupSize: settings.aggregationGroupSize }),
        ...(settings.microBatchSize === undefined
          ? {}
          : { microBatchSize: settings.microBatchSize }),
        ...(settings.emptyRows === undefined ? {} : { emptyRows: settings.emptyRows }),
      });
    const lossValue = aggregate(total);
    const fraction = (condition: tf.Tensor) => maskedMean(tf.cast(condition, 'float32'));
    const zero = tf.scalar(0);
    const metrics = [
      lossValue,
      aggregate(policyTerm),
      policyLoss === 'cispo'
        ? fraction(tf.less(ratio, low))
        : settings.clip && policyLoss === 'clip'
          ? fraction(tf.logicalAnd(negative, tf.less(ratio, low)))
          : zero,
      policyLoss === 'cispo'
        ? fraction(tf.greater(ratio, high))
        : settings.clip && policyLoss === 'clip'
          ? fraction(tf.logicalAnd(tf.greater(advantage, 0), tf.greater(ratio, high)))
          : zero,
      fraction(dualActive),
      maskedMean(k3OfLogRatioTensor(tf.neg(tokenLogRatio))),
      maskedMean(ratio),
      tokenCount,
      entropyMean ?? zero,
      klMean ?? zero,
      entropyMask === undefined ? zero : maskedMean(entropyMask),
      samplerWeight === undefined ? zero : maskedMean(samplerWeight),
      samplerClipped === undefined ? zero : fraction(samplerClipped),
    ];
    return {
      loss: lossValue,
      metricTensor: tf.stack(metrics.map((metric) => tf.reshape(metric, []))),
    };
  });
  const values = metricTensor.dataSync();
  metricTensor.dispose();
  entropyMask?.dispose();
  const metrics: SurrogateMetrics = {
    loss: values[0]!,
    policyLoss: values[1]!,
    clipFractionLow: values[2]!,
    clipFractionHigh: values[3]!,
    clipFractionDual: values[4]!,
    approxKlToOld: values[5]!,
    meanRatio: values[6]!,
    tokenCount: values[7]!,
  };
  if (entropy !== undefined) metrics.entropy = values[8]!;
  if (refLogProbs !== undefined) metrics.klToReference = values[9]!;
  if (settings.topEntropyQuantile !== undefined)
    metrics.entropyMaskFraction = entropyMask === undefined ? 1 : values[10]!;
  if (settings.samplerCorrection !== undefined) {
    metrics.samplerWeightMean = values[11]!;
    metrics.samplerWeightClippedFraction = values[12]!;
  }
  return { loss: loss as tf.Scalar, metrics };
}
