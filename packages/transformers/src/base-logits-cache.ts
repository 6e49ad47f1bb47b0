import { InvalidArgumentError } from '@cohort/core';

/**
 * A bounded least-recently-used store of a frozen model's next-token logits
 * per token sequence, so that repeated training passes over the same rollouts
 * do not rerun the base model. An entry for sequence `s` holds
 * `(len(s) - 1) x V` logits (row `t` predicts `s[t + 1]`) and also serves every
 * prefix of `s`, since a causal model's logits of a prefix do not depend on
 * what follows. Entries are evicted oldest-used first once `maxBytes` is
 * exceeded; an entry larger than `maxBytes` is not stored.
 *
 * @example
 * ```ts
 * const cache = new BaseLogitsCache({ maxBytes: 64 * 2 ** 20, vocabSize: 300 });
 * cache.set([5, 6, 7], logits); // 2 x 300 values
 * cache.get([5, 6]);            // the first 300 values
 * ```
 */
export class BaseLogitsCache {
  readonly maxBytes: number;
  readonly vocabSize: number;
  private readonly entries = new Map<string, { tokens: readonly number[]; logits: Float32Array }>();
  private bytes = 0;

  constructor(options: { maxBytes: number; vocabSize: number }) {
    if (!(options.maxBytes >= 0) || !Number.isFinite(options.maxBytes)) {
      throw new InvalidArgumentError({
        argument: 'maxBytes',
        value: options.maxBytes,
        message: 'must be a finite number >= 0',
      });
    }
    this.maxBytes = options.maxBytes;
    this.vocabSize = options.vocabSize;
  }

  /** Bytes held now. */
  get size(): number {
    return this.bytes;
  }

  /** Number of sequences held. */
  get count(): number {
    return this.entries.size;
  }

  /** Stores the logits of `tokens` (at least `(len - 1) x V` values; extra rows are dropped). */
  set(tokens: readonly number[], logits: Float32Array): void {
    const rows = Math.max(0, tokens.length - 1);
    if (logits.length < rows * this.vocabSize) {
      throw new InvalidArgumentError({
        argument: 'logits.length',
        value: logits.length,
        message: `must be at least (len - 1) x vocabSize = ${rows * this.vocabSize}`,
      });
    }
    const kept =
      logits.length === rows * this.vocabSize ? logits : logits.slice(0, rows * this.vocabSize);
    const key = tokens.join(',');
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.bytes -= previous.logits.byteLength;
    }
    if (kept.byteLength > this.maxBytes) return;
    this.entries.set(key, { tokens: [...tokens], logits: kept });
    this.bytes += kept.byteLength;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.logits.byteLength;
    }
  }

  /** The `(len - 1) x V` logits of `tokens`, from its own entry or a longer one it prefixes. */
  get(tokens: readonly number[]): Float32Array | undefined {
    const key = tokens.join(',');
    const rows = Math.max(0, tokens.length - 1) * this.vocabSize;
    let found = this.entries.get(key);
    if (!found) {
      for (const entry of this.entries.values()) {
        if (entry.tokens.length < tokens.length) continue;
        let prefix = true;
        for (let t = 0; t < tokens.length && prefix; t++) prefix = entry.tokens[t] === tokens[t];
        if (prefix) {
          found = entry;
          break;
        }
      }
    }
    if (!found) return undefined;
    const foundKey = found.tokens.join(',');
    this.entries.delete(foundKey);
    this.entries.set(foundKey, found);
    return found.logits.subarray(0, rows);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
