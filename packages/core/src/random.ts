import { InvalidArgumentError } from './errors';

/** The complete, JSON-serializable state of a {@link Random} stream. */
export interface RandomState {
  algorithm: 'xoshiro128**';
  /** Four unsigned 32-bit words. */
  words: [number, number, number, number];
  /** A cached second normal deviate from Box-Muller, or null. */
  spareNormal: number | null;
}

function rotateLeft(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

/** SplitMix32 step (a 32-bit adaptation of Steele et al. 2014), used only for seeding. */
function splitMix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) >>> 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a hash of a string, to turn string seeds and fork labels into numbers. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The one seedable random number generator used everywhere in Cohort:
 * xoshiro128** (Blackman and Vigna 2018), seeded through SplitMix32.
 *
 * Its whole state can be saved with {@link Random.getState} and restored with
 * {@link Random.fromState}, which is what makes a resumed run continue the
 * same stream. {@link Random.fork} derives independent child streams by label,
 * so that adding a random draw in one component does not shift another's.
 *
 * @example
 * ```ts
 * const random = new Random(42);
 * random.float();          // in [0, 1)
 * random.int(0, 10);       // integer in [0, 10)
 * const rollouts = random.fork('rollouts');
 * ```
 */
export class Random {
  private words: [number, number, number, number];
  private spareNormal: number | null = null;

  constructor(seed: number | string = 0) {
    let numericSeed: number;
    if (typeof seed === 'string') {
      numericSeed = hashString(seed);
    } else {
      if (!Number.isFinite(seed)) {
        throw new InvalidArgumentError({
          argument: 'seed',
          value: seed,
          message: 'must be a finite number or a string',
        });
      }
      // Mix the high bits in too, so that seeds beyond 2^32 are not folded together.
      numericSeed = (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
    }
    const state = { value: numericSeed };
    this.words = [splitMix32(state), splitMix32(state), splitMix32(state), splitMix32(state)];
    if (this.words.every((word) => word === 0)) this.words[0] = 1;
  }

  /** Builds a generator from raw xoshiro128** words (for test vectors and restores). */
  static fromWords(words: [number, number, number, number]): Random {
    const random = new Random(0);
    random.words = [words[0] >>> 0, words[1] >>> 0, words[2] >>> 0, words[3] >>> 0];
    return random;
  }

  /** Restores a generator saved with {@link Random.getState}. */
  static fromState(state: RandomState): Random {
    if (
      state?.algorithm !== 'xoshiro128**' ||
      !Array.isArray(state.words) ||
      state.words.length !== 4
    ) {
      throw new InvalidArgumentError({
        argument: 'state',
        value: state,
        message: 'is not a saved xoshiro128** state',
      });
    }
    const random = Random.fromWords(state.words);
    random.spareNormal = state.spareNormal ?? null;
    return random;
  }

  /** The complete state, as plain JSON data. */
  getState(): RandomState {
    return { algorithm: 'xoshiro128**', words: [...this.words], spareNormal: this.spareNormal };
  }

  /** Replaces this generator's state in place. */
  setState(state: RandomState): void {
    const restored = Random.fromState(state);
    this.words = restored.words;
    this.spareNormal = restored.spareNormal;
  }

  /** A copy that continues the same stream independently. */
  clone(): Random {
    return Random.fromState(this.getState());
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const words = this.words;
    const result = Math.imul(rotateLeft(Math.imul(words[1], 5) >>> 0, 7), 9) >>> 0;
    const shifted = (words[1] << 9) >>> 0;
    words[2] = (words[2] ^ words[0]) >>> 0;
    words[3] = (words[3] ^ words[1]) >>> 0;
    words[1] = (words[1] ^ words[2]) >>> 0;
    words[0] = (words[0] ^ words[3]) >>> 0;
    words[2] = (words[2] ^ shifted) >>> 0;
    words[3] = rotateLeft(words[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform float in [minimum, maximum). */
  uniform(minimum: number, maximum: number): number {
    return minimum + (maximum - minimum) * this.float();
  }

  /** Uniform integer in [minimum, maximum), without modulo bias. */
  int(minimum: number, maximum: number): number {
    const range = maximum - minimum;
    if (
      !Number.isInteger(minimum) ||
      !Number.isInteger(maximum) ||
      range <= 0 ||
      range > 4294967296
    ) {
      throw new InvalidArgumentError({
        argument: 'int(minimum, maximum)',
        value: [minimum, maximum],
        message: 'needs integers with 0 < maximum - minimum <= 2^32',
      });
    }
    const limit = 4294967296 - (4294967296 % range);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return minimum + (value % range);
    }
  }

  /** True with probability `probability`. */
  bernoulli(probability: number): boolean {
    return this.float() < probability;
  }

  /** Normal deviate (Box-Muller, polar form of Marsaglia). */
  normal(mean = 0, standardDeviation = 1): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return mean + standardDeviation * spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.float() * 2 - 1;
      v = this.float() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * factor;
    return mean + standardDeviation * u * factor;
  }

  /** A uniformly chosen element. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) {
      throw new InvalidArgumentError({
        argument: 'items',
        value: items,
        message: 'cannot choose from an empty array',
      });
    }
    return items[this.int(0, items.length)]!;
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let index = 0; index < weights.length; index++) {
      const weight = weights[index]!;
      if (!(weight >= 0) || !Number.isFinite(weight)) {
        throw new InvalidArgumentError({
          argument: `weights[${index}]`,
          value: weight,
          message: 'must be finite and >= 0',
        });
      }
      total += weight;
    }
    if (!(total > 0)) {
      throw new InvalidArgumentError({
        argument: 'weights',
        value: total,
        message: 'must have a positive sum',
      });
    }
    let target = this.float() * total;
    for (let index = 0; index < weights.length; index++) {
      target -= weights[index]!;
      if (target < 0) return index;
    }
    // Rounding can leave target at ~0: return the last index with positive weight.
    for (let index = weights.length - 1; index >= 0; index--) if (weights[index]! > 0) return index;
    return weights.length - 1;
  }

  /** Fisher-Yates shuffle into a new array. */
  shuffle<T>(items: readonly T[]): T[] {
    const result = [...items];
    for (let index = result.length - 1; index > 0; index--) {
      const other = this.int(0, index + 1);
      [result[index], result[other]] = [result[other]!, result[index]!];
    }
    return result;
  }

  /** `count` distinct elements, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    if (!Number.isInteger(count) || count < 0 || count > items.length) {
      throw new InvalidArgumentError({
        argument: 'count',
        value: count,
        message: `must be an integer in [0, ${items.length}]`,
      });
    }
    return this.shuffle(items).slice(0, count);
  }

  /**
   * An independent child stream, determined by this stream's current state and
   * `label`. Forking does not advance this stream.
   */
  fork(label: string | number): Random {
    const labelHash = typeof label === 'string' ? hashString(label) : label >>> 0;
    const state = { value: (this.words[0] ^ rotateLeft(this.words[2], 13) ^ labelHash) >>> 0 };
    const child = Random.fromWords([
      (splitMix32(state) ^ this.words[1]) >>> 0,
      (splitMix32(state) ^ this.words[3]) >>> 0,
      splitMix32(state),
      splitMix32(state) | 1,
    ]);
    return child;
  }

  /** A fresh 32-bit seed for libraries that take a number. */
  seed(): number {
    return this.nextUint32();
  }
}
