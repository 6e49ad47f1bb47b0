import { InvalidArgumentError } from './errors';
import type { GenerationOptions, SampleRequest } from './policy';
import { assertInteger } from './validate';

/**
 * Throws {@link InvalidArgumentError} naming `argument` unless `id` is a
 * token id of a vocabulary of `vocabSize`: an integer in `[0, vocabSize)`.
 * The one check and wording of token ids for every policy.
 */
export function assertTokenId(argument: string, id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new InvalidArgumentError({
      argument,
      value: id,
      message: `must be an integer in [0, ${vocabSize})`,
    });
  }
}

/**
 * Checks every id of every row (`argument[row][position]`) with
 * {@link assertTokenId}; with `nonEmpty`, an empty row throws naming it.
 *
 * @example
 * ```ts
 * assertTokenIds('prompts', [[1, 2], [3]], 50_257, { nonEmpty: true });
 * ```
 */
export function assertTokenIds(
  argument: string,
  rows: readonly (readonly number[])[],
  vocabSize: number,
  options: { nonEmpty?: boolean } = {},
): void {
  rows.forEach((row, index) => {
    if (options.nonEmpty === true && row.length === 0) {
      throw new InvalidArgumentError({
        argument: `${argument}[${index}]`,
        value: row,
        message: 'must hold at least one token',
      });
    }
    row.forEach((id, position) => {
      assertTokenId(`${argument}[${index}][${position}]`, id, vocabSize);
    });
  });
}

/**
 * The sampling settings every policy shares: `temperature` a finite number
 * >= 0 (0 is greedy), `topK` an integer >= 0 (0 is off), `topP` in (0, 1].
 */
export function assertSamplingSettings(
  options: Pick<GenerationOptions, 'temperature' | 'topK' | 'topP'>,
): void {
  const temperature = options.temperature ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      value: temperature,
      message: 'must be a finite number >= 0 (0 is greedy)',
    });
  }
  assertInteger('topK', options.topK ?? 0, 0);
  const topP = options.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) {
    throw new InvalidArgumentError({ argument: 'topP', value: topP, message: 'must be in (0, 1]' });
  }
}

/**
 * Validates a {@link SampleRequest} against a vocabulary of `vocabSize`, the
 * one validation shared by every policy's `sample`: `groupSize` and
 * `maxNewTokens` integers >= 1, `seed` an integer >= 0, the sampling
 * settings ({@link assertSamplingSettings}), and every prompt non-empty with
 * ids in `[0, vocabSize)`. Throws {@link InvalidArgumentError} naming the
 * field and the value.
 *
 * @example
 * ```ts
 * validateSampleRequest({ prompts: [[1, 2]], groupSize: 4, maxNewTokens: 16, seed: 0 }, tokenizer.vocabSize);
 * ```
 */
export function validateSampleRequest(request: SampleRequest, vocabSize: number): void {
  assertInteger('groupSize', request.groupSize, 1);
  assertInteger('maxNewTokens', request.maxNewTokens, 1);
  assertInteger('seed', request.seed, 0);
  assertSamplingSettings(request);
  assertTokenIds('prompts', request.prompts, vocabSize, { nonEmpty: true });
}
