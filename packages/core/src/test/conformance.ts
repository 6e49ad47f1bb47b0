import type { Environment } from '../environment';
import { InvalidArgumentError } from '../errors';
import type { KlEstimator, KlEstimatorInput } from '../kl-estimator';
import type { Policy, ReferenceModel } from '../policy';
import type { RewardContext, RewardFunction } from '../reward-function';

/** A broken guarantee of a protocol, named by the guarantee. */
export class ConformanceError extends Error {
  constructor(protocol: string, guarantee: string, detail: string) {
    super(`${protocol}: ${guarantee}: ${detail}`);
    this.name = 'ConformanceError';
  }
}

function check(condition: boolean, protocol: string, guarantee: string, detail: string): void {
  if (!condition) throw new ConformanceError(protocol, guarantee, detail);
}

/** The shared validation of sample requests (`validateSampleRequest`): one wording for every policy. */
async function expectRefusal(call: () => Promise<unknown>, messageStart: string): Promise<void> {
  let error: unknown;
  try {
    await call();
  } catch (caught) {
    error = caught;
  }
  check(
    InvalidArgumentError.isInstance(error) && (error as Error).message.startsWith(messageStart),
    'Policy',
    'a bad sample request is refused with the shared wording, naming the field and the value',
    error === undefined ? 'it was accepted' : `got ${(error as Error).message}`,
  );
}

/** Options of {@link checkPolicyConformance}. */
export interface PolicyConformanceOptions<TensorType> {
  policy: Policy<TensorType, unknown>;
  /** Reads one of the policy's tensors as `[batch][position]` numbers (for tfjs: `(t) => t.arraySync()`). */
  toArray: (tensor: TensorType) => number[][];
  /** Prompts (already chat-templated token ids); at least two, of different lengths, exercise padding. */
  prompts: readonly (readonly number[])[];
  maxNewTokens?: number;
  groupSize?: number;
  temperature?: number;
  stopTokenIds?: readonly number[];
  /** Largest allowed gap between sampled and recomputed log-probs (float32 runtimes need ~1e-4). */
  tolerance?: number;
  /** Disposes a tensor after reading it, for runtimes that need it. */
  dispose?: (tensor: TensorType) => void;
  /** Async work a policy needs before `tokenLogProbs` sees sequences (the proxy-tuned policy's `prepare`). */
  prepare?: (sequences: readonly (readonly number[])[]) => Promise<void>;
}

/**
 * The shared conformance suite of {@link Policy}: every implementation runs
 * it. It checks each guarantee of the protocol on real calls: completions
 * ordered by prompt then sample index, token ids in the vocabulary, at most
 * `maxNewTokens` of them, stop ids only last, finish reasons that match,
 * finite log-probs at most 0, the same completions for the same seed, and
 * `tokenLogProbs` that reproduces the sampled log-probs (so ratios start at 1)
 * with 0 at position 0 and on padding, and a non-negative entropy.
 *
 * @throws ConformanceError naming the protocol, the guarantee and what was found.
 * @example
 * ```ts
 * it('conforms to Policy', () => checkPolicyConformance({ policy, toArray: (t) => t.arraySync() as number[][], prompts: [[5, 6], [7, 8, 9]] }));
 * ```
 */
export async function checkPolicyConformance<TensorType>(
  options: PolicyConformanceOptions<TensorType>,
): Promise<void> {
  const { policy, prompts } = options;
  const protocol = 'Policy';
  const maxNewTokens = options.maxNewTokens ?? 6;
  const groupSize = options.groupSize ?? 3;
  const temperature = options.temperature ?? 0.9;
  const tolerance = options.tolerance ?? 1e-4;
  const stopTokenIds = options.stopTokenIds ?? [];
  const request = { prompts, groupSize, seed: 17, maxNewTokens, temperature, stopTokenIds };
  const completions = await policy.sample(request);
  check(
    completions.length === prompts.length * groupSize,
    protocol,
    'sample returns prompts.length * groupSize completions',
    `got ${completions.length} for ${prompts.length} prompts and groupSize ${groupSize}`,
  );
  completions.forEach((completion, index) => {
    const where = `completion ${index}`;
    check(
      completion.promptIndex === Math.floor(index / groupSize) &&
        completion.sampleIndex === index % groupSize,
      protocol,
      'completions are ordered by prompt, then sample index',
      `${where} has promptIndex ${completion.promptIndex}, sampleIndex ${completion.sampleIndex}`,
    );
    const { tokenIds, logProbsPerToken, finishReason } = completion;
    check(
      tokenIds.length >= 1 && tokenIds.length <= maxNewTokens,
      protocol,
      'a completion has 1 to maxNewTokens tokens',
      `${where} has ${tokenIds.length}`,
    );
    check(
      tokenIds.every((id) => Number.isInteger(id) && id >= 0 && id < policy.tokenizer.vocabSize),
      protocol,
      'token ids are in the vocabulary',
      `${where}: [${tokenIds}]`,
    );
    check(
      logProbsPerToken.length === tokenIds.length &&
        logProbsPerToken.every((value) => Number.isFinite(value) && value <= 1e-6),
      protocol,
      'one finite log-prob <= 0 per sampled token',
      `${where}: [${logProbsPerToken}]`,
    );
    const stopAt = tokenIds.findIndex((id) => stopTokenIds.includes(id));
    check(
      stopAt === -1 || stopAt === tokenIds.length - 1,
      protocol,
      'a stop id ends the completion and is kept as its last token',
      `${where}: stop id at ${stopAt} of ${tokenIds.length}`,
    );
    const expectedReason =
      stopAt !== -1
        ? ['stop', 'eos']
        : tokenIds.at(-1) === policy.tokenizer.eosTokenId
          ? ['eos']
          : ['length'];
    check(
      expectedReason.includes(finishReason) &&
        (finishReason !== 'length' || tokenIds.length === maxNewTokens),
      protocol,
      'the finish reason matches how the completion ended',
      `${where}: ${finishReason} after ${tokenIds.length} tokens`,
    );
  });
  const again = await policy.sample(request);
  check(
    JSON.stringify(again.map((completion) => completion.tokenIds)) ===
      JSON.stringify(completions.map((completion) => completion.tokenIds)),
    protocol,
    'the same seed and weights give the same completions',
    'two calls with seed 17 differ',
  );

  await expectRefusal(
    () => policy.sample({ ...request, prompts: [[...prompts[0]!, -1]] }),
    `Invalid argument prompts[0][${prompts[0]!.length}] = -1: must be an integer in [0, `,
  );
  await expectRefusal(
    () => policy.sample({ ...request, temperature: -1 }),
    'Invalid argument temperature = -1: must be a finite number >= 0 (0 is greedy)',
  );

  const sequences = completions.map((completion) => [
    ...prompts[completion.promptIndex]!,
    ...completion.tokenIds,
  ]);
  await options.prepare?.(sequences);
  const output = policy.tokenLogProbs({ sequences, temperature, withEntropy: true });
  const logProbs = options.toArray(output.logProbs);
  const entropy = output.entropy === undefined ? undefined : options.toArray(output.entropy);
  options.dispose?.(output.logProbs);
  if (output.entropy !== undefined) options.dispose?.(output.entropy);
  const maxLength = Math.max(...sequences.map((sequence) => sequence.length));
  check(
    logProbs.length === sequences.length && logProbs.every((row) => row.length === maxLength),
    protocol,
    'tokenLogProbs is [batch, maxLength]',
    `got ${logProbs.length} rows of ${logProbs[0]?.length} for ${sequences.length} of ${maxLength}`,
  );
  completions.forEach((completion, row) => {
    const sequence = sequences[row]!;
    const start = sequence.length - completion.tokenIds.length;
    check(
      logProbs[row]![0] === 0,
      protocol,
      'position 0 holds 0',
      `row ${row}: ${logProbs[row]![0]}`,
    );
    for (let position = sequence.length; position < maxLength; position++) {
      check(
        logProbs[row]![position] === 0,
        protocol,
        'padding positions hold 0',
        `row ${row}, position ${position}: ${logProbs[row]![position]}`,
      );
    }
    completion.logProbsPerToken.forEach((sampled, offset) => {
      const recomputed = logProbs[row]![start + offset]!;
      check(
        Math.abs(recomputed - sampled) <= tolerance,
        protocol,
        'tokenLogProbs reproduces the sampled log-probs at the same temperature',
        `row ${row}, token ${offset}: sampled ${sampled}, recomputed ${recomputed}`,
      );
    });
    if (entropy) {
      for (let position = 1; position < sequence.length; position++) {
        check(
          entropy[row]![position]! >= -tolerance && Number.isFinite(entropy[row]![position]!),
          protocol,
          'entropy is finite and >= 0',
          `row ${row}, position ${position}: ${entropy[row]![position]}`,
        );
      }
    }
  });
}

/**
 * The shared conformance suite of {@link ReferenceModel}: one array per
 * sequence, of its length, 0 at position 0, finite log-probs at most 0, and
 * the same answer twice (it is frozen). With `expected`, each value must match
 * it (for example a policy's `tokenLogProbs` when the reference is its copy).
 *
 * @throws ConformanceError naming the guarantee.
 * @example
 * ```ts
 * await checkReferenceModelConformance({ referenceModel, sequences: [[1, 2, 3], [4, 5]] });
 * ```
 */
export async function checkReferenceModelConformance(options: {
  referenceModel: ReferenceModel;
  sequences: readonly (readonly number[])[];
  temperature?: number;
  expected?: readonly (readonly number[])[];
  tolerance?: number;
}): Promise<void> {
  const protocol = 'ReferenceModel';
  const request = { sequences: options.sequences, temperature: options.temperature ?? 1 };
  const result = await options.referenceModel.referenceLogProbs(request);
  check(
    result.length === options.sequences.length &&
      result.every((row, index) => row.length === options.sequences[index]!.length),
    protocol,
    'one array per sequence, of its length',
    `got lengths [${result.map((row) => row.length)}]`,
  );
  result.forEach((row, index) => {
    check(row[0] === 0, protocol, 'position 0 holds 0', `sequence ${index}: ${row[0]}`);
    check(
      row.every((value) => Number.isFinite(value) && value <= 1e-6),
      protocol,
      'log-probs are finite and <= 0',
      `sequence ${index}: [${row}]`,
    );
    const expected = options.expected?.[index];
    if (expected) {
      row.forEach((value, position) => {
        check(
          Math.abs(value - expected[position]!) <= (options.tolerance ?? 1e-4),
          protocol,
          'log-probs match the expected model',
          `sequence ${index}, position ${position}: ${value} vs ${expected[position]}`,
        );
      });
    }
  });
  const again = await options.referenceModel.referenceLogProbs(request);
  check(
    JSON.stringify(again) === JSON.stringify(result),
    protocol,
    'a frozen reference answers the same twice',
    'two calls differ',
  );
}

/**
 * The shared conformance suite of {@link Environment}: two episodes reset
 * with the same scenario and seed, given the same agent messages, produce the
 * same conversation, rewards and endings; rewards are finite; the
 * conversation grows with every turn; an episode ends within `maxTurns`
 * agent messages when `mustEnd` is set; and `step` after `done` throws.
 *
 * @throws ConformanceError naming the guarantee.
 * @example
 * ```ts
 * await checkEnvironmentConformance({ environment, scenario, agentMessages: ['hello', 'thanks'], maxTurns: 8 });
 * ```
 */
export async function checkEnvironmentConformance<ScenarioType>(options: {
  environment: Environment<ScenarioType>;
  scenario: ScenarioType;
  /** Agent messages, used in turn (cycled). */
  agentMessages: readonly string[];
  maxTurns: number;
  mustEnd?: boolean;
  seed?: number;
}): Promise<void> {
  const protocol = 'Environment';
  check(options.environment.name.length > 0, protocol, 'it has a name', 'empty name');
  const run = async () => {
    const episode = await options.environment.reset({
      scenario: options.scenario,
      seed: options.seed ?? 3,
    });
    const transcript: unknown[] = [episode.messages.map((message) => ({ ...message }))];
    let done = false;
    for (let turn = 0; turn < options.maxTurns && !done; turn++) {
      const before = episode.messages.length;
      const result = await episode.step(
        options.agentMessages[turn % options.agentMessages.length]!,
      );
      check(
        Number.isFinite(result.reward),
        protocol,
        'rewards are finite',
        `turn ${turn}: ${result.reward}`,
      );
      check(
        episode.messages.length > before,
        protocol,
        'the conversation grows with each agent message',
        `turn ${turn}: ${before} -> ${episode.messages.length} messages`,
      );
      check(
        !result.done || result.endReason !== undefined,
        protocol,
        'a finished episode says how it ended',
        `turn ${turn}: done without endReason`,
      );
      done = result.done;
      transcript.push(
        result,
        episode.messages.map((message) => ({ ...message })),
      );
    }
    return { episode, transcript, done };
  };
  const first = await run();
  const second = await run();
  check(
    JSON.stringify(first.transcript) === JSON.stringify(second.transcript),
    protocol,
    'the same scenario, seed and agent messages give the same episode',
    'two runs differ',
  );
  if (options.mustEnd) {
    check(
      first.done,
      protocol,
      `the episode ends within ${options.maxTurns} agent messages`,
      'it did not',
    );
  }
  if (first.done) {
    let threw = false;
    try {
      await first.episode.step(options.agentMessages[0]!);
    } catch {
      threw = true;
    }
    check(threw, protocol, 'step after done throws', 'it returned');
  }
}

/**
 * The shared conformance suite of {@link RewardFunction}: a non-empty name, a
 * known scope, and for each context a finite number or null, the same twice.
 *
 * @throws ConformanceError naming the guarantee.
 * @example
 * ```ts
 * await checkRewardFunctionConformance({ reward: lengthReward({ ... }), contexts });
 * ```
 */
export async function checkRewardFunctionConformance<ScenarioType>(options: {
  reward: RewardFunction<ScenarioType>;
  contexts: readonly RewardContext<ScenarioType>[];
}): Promise<void> {
  const protocol = 'RewardFunction';
  const { reward } = options;
  check(reward.name.length > 0, protocol, 'it has a name', 'empty name');
  check(
    reward.scope === undefined || reward.scope === 'turn' || reward.scope === 'episode',
    protocol,
    "scope is 'turn' or 'episode'",
    String(reward.scope),
  );
  for (const [index, context] of options.contexts.entries()) {
    const value = await reward.score(context);
    check(
      value === null || Number.isFinite(value),
      protocol,
      'a score is a finite number or null',
      `context ${index}: ${value}`,
    );
    check(
      (await reward.score(context)) === value,
      protocol,
      'the same context scores the same',
      `context ${index}`,
    );
  }
}

/** Options of {@link checkKlEstimatorConformance}. */
export interface KlEstimatorConformanceOptions<TensorType> {
  estimator: KlEstimator<TensorType>;
  /** Makes a tensor of the estimator's runtime from `[row][position]` numbers (for tfjs: `tf.tensor2d`). */
  toTensor: (values: number[][]) => TensorType;
  /** Reads a tensor back as `[row][position]` numbers (for tfjs: `(t) => t.arraySync()`). */
  toArray: (tensor: TensorType) => number[][];
  /** `d/d logProbs` of the sum of `estimateTensor`'s values, as `[row][position]` numbers. */
  gradient: (input: KlEstimatorInput<TensorType>) => number[][];
  /** Largest allowed gap between the array and tensor values, and of the gradient to finite differences. */
  tolerance?: number;
  /** Disposes a tensor after reading it, for runtimes that need it. */
  dispose?: (tensor: TensorType) => void;
}

/**
 * The shared conformance suite of {@link KlEstimator}: per-token values of
 * the input's shape; 0 where the two log-probs are equal; finite on finite
 * inputs; `estimate` and `estimateTensor` agree; the gradient of
 * `estimateTensor` with respect to `logProbs` matches central finite
 * differences of `estimate` away from ties (so the loss's KL term and the
 * reward's agree);
 * the input is not mutated.
 *
 * @throws ConformanceError naming the guarantee.
 * @example
 * ```ts
 * checkKlEstimatorConformance({ estimator, toTensor: (v) => tf.tensor2d(v), toArray: (t) => t.arraySync() as number[][],
 *   gradient: ({ logProbs, refLogProbs }) => tf.grad((x) => tf.sum(estimator.estimateTensor({ logProbs: x, refLogProbs })))(logProbs).arraySync() as number[][] });
 * ```
 */
export function checkKlEstimatorConformance<TensorType>(
  options: KlEstimatorConformanceOptions<TensorType>,
): void {
  const { estimator } = options;
  const protocol = 'KlEstimator';
  const tolerance = options.tolerance ?? 1e-4;
  // Log-ratios from -3 to 3 and a row of ties, with log-probs well inside float32's range.
  const logProbs = [
    [-0.5, -1.2, -2.0, -0.1, -3.5],
    [-1.0, -0.7, -4.0, -2.5, -0.3],
  ];
  const refLogProbs = [
    [-0.5, -0.4, -3.0, -3.1, -0.5],
    [-1.0, -0.7, -4.0, -2.5, -0.3],
  ];
  const frozen = JSON.stringify([logProbs, refLogProbs]);
  const rows = logProbs.map((row, index) =>
    estimator.estimate({ logProbs: row, refLogProbs: refLogProbs[index]! }),
  );
  check(
    JSON.stringify([logProbs, refLogProbs]) === frozen,
    protocol,
    'estimate does not mutate its input',
    'the input changed',
  );
  rows.forEach((row, index) => {
    check(
      Array.isArray(row) && row.length === logProbs[index]!.length,
      protocol,
      'one value per token',
      `row ${index}: ${row?.length} values for ${logProbs[index]!.length} tokens`,
    );
    check(
      row.every((value) => Number.isFinite(value)),
      protocol,
      'finite inputs give finite values',
      `row ${index}: [${row}]`,
    );
  });
  check(
    rows[1]!.every((value) => Math.abs(value) <= 1e-12) && rows[0]![0] === 0,
    protocol,
    'equal log-probs give 0',
    `[${rows[1]}], ${rows[0]![0]}`,
  );
  const policyTensor = options.toTensor(logProbs);
  const referenceTensor = options.toTensor(refLogProbs);
  const valuesTensor = estimator.estimateTensor({
    logProbs: policyTensor,
    refLogProbs: referenceTensor,
  });
  const values = options.toArray(valuesTensor);
  options.dispose?.(valuesTensor);
  check(
    values.length === rows.length &&
      values.every((row, index) => row.length === rows[index]!.length),
    protocol,
    'estimateTensor keeps the input shape',
    `got ${values.length} rows of [${values.map((row) => row.length)}]`,
  );
  values.forEach((row, rowIndex) => {
    row.forEach((value, position) => {
      const expected = rows[rowIndex]![position]!;
      check(
        Math.abs(value - expected) <= tolerance * Math.max(1, Math.abs(expected)),
        protocol,
        'estimate and estimateTensor agree',
        `row ${rowIndex}, position ${position}: ${value} vs ${expected}`,
      );
    });
  });
  const gradient = options.gradient({ logProbs: policyTensor, refLogProbs: referenceTensor });
  options.dispose?.(policyTensor);
  options.dispose?.(referenceTensor);
  const step = 1e-3;
  logProbs.forEach((row, rowIndex) => {
    row.forEach((logProb, position) => {
      // At a tie an estimator may have a kink (abs = |d|), so its gradient there is a convention.
      if (logProb === refLogProbs[rowIndex]![position]) return;
      const at = (shift: number) =>
        estimator.estimate({
          logProbs: [logProb + shift],
          refLogProbs: [refLogProbs[rowIndex]![position]!],
        })[0]!;
      const expected = (at(step) - at(-step)) / (2 * step);
      const actual = gradient[rowIndex]?.[position];
      check(
        actual !== undefined &&
          Math.abs(actual - expected) <= 10 * tolerance * Math.max(1, Math.abs(expected)),
        protocol,
        'the gradient of estimateTensor matches finite differences of estimate',
        `row ${rowIndex}, position ${position}: ${actual} vs ${expected}`,
      );
    });
  });
}
