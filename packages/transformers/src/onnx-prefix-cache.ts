import * as ort from 'onnxruntime-node';
import type { OnnxPastKeyValues } from './onnx-decoder-session';
import type { NextTokenStepper, StepInput } from './sampling-loop';

/** The key/value cache shape of a decoder: per layer, `[rows, cacheHeads, positions, headSize]`. */
export interface CacheLayout {
  layerCount: number;
  cacheHeads: number;
  headSize: number;
}

/** A sequence whose keys and values a sampler computed: `kv[name]` is `[cacheHeads, tokens.length, headSize]`. */
interface CachedPrefix {
  tokens: readonly number[];
  kv: Record<string, Float32Array>;
}

/** Counts of {@link PrefixCache} lookups since the cache was made. */
export interface PrefixCacheStats {
  /** Rows whose prompt began with a cached sequence. */
  hits: number;
  /** Rows prefilled from their first token. */
  misses: number;
  /** Prompt tokens whose keys and values came from the cache instead of a prefill. */
  reusedTokens: number;
  /** Prompt tokens prefilled. */
  prefilledTokens: number;
}

/** Counts before any lookup. */
export function emptyPrefixCacheStats(): PrefixCacheStats {
  return { hits: 0, misses: 0, reusedTokens: 0, prefilledTokens: 0 };
}

const cacheNames = (layout: CacheLayout): string[] =>
  Array.from({ length: layout.layerCount }, (_, layer) =>
    ['key', 'value'].map((part) => `past_key_values.${layer}.${part}`),
  ).flat();

/**
 * The keys and values of the sequences one sampling call ended with (prompt
 * and the tokens fed after it), kept for the next call: a multi-turn rollout
 * asks for the same conversation again with the agent's reply and the
 * observation appended, and only those new tokens need a forward pass. Only
 * the previous call's sequences are looked up, so the cache holds one call's
 * rows at most; a weight change must {@link clear} it.
 */
export class PrefixCache {
  readonly layout: CacheLayout;
  private previous: CachedPrefix[] = [];
  private current: CachedPrefix[] = [];
  private readonly counts: PrefixCacheStats = emptyPrefixCacheStats();

  constructor(layout: CacheLayout) {
    this.layout = layout;
  }

  get stats(): PrefixCacheStats {
    return { ...this.counts };
  }

  /** Starts a sampling call: the last call's sequences become the ones looked up. */
  nextCall(): void {
    this.previous = this.current;
    this.current = [];
  }

  /** Forgets every sequence (the weights changed); the counts stay. */
  clear(): void {
    this.previous = [];
    this.current = [];
  }

  /** The longest cached sequence that is a proper prefix of `prompt` (at least one token left to run). */
  lookup(prompt: readonly number[]): CachedPrefix | undefined {
    let best: CachedPrefix | undefined;
    for (const entry of this.previous) {
      const { tokens } = entry;
      if (tokens.length >= prompt.length || tokens.length <= (best?.tokens.length ?? 0)) continue;
      let index = 0;
      while (index < tokens.length && tokens[index] === prompt[index]) index++;
      if (index === tokens.length) best = entry;
    }
    return best;
  }

  /** Counts one prompt's lookup. */
  count(prompt: readonly number[], reused: number): void {
    if (reused > 0) this.counts.hits++;
    else this.counts.misses++;
    this.counts.reusedTokens += reused;
    this.counts.prefilledTokens += prompt.length - reused;
  }

  store(entry: CachedPrefix): void {
    this.current.push(entry);
  }
}

type Run = (input: StepInput & { past?: OnnxPastKeyValues }) => Promise<{
  logits: Float32Array;
  present: OnnxPastKeyValues;
}>;

/**
 * A {@link NextTokenStepper} that starts each row from the longest cached
 * prefix of its prompt: the cached keys and values are left-padded to a
 * common length and only the rest of each prompt is run (right-aligned, so
 * every row's last position is its last token). The stepper keeps its own
 * attention mask over that layout (cached part and new part each padded on
 * the left) and, at `finish`, stores each row's sequence with the keys and
 * values of its real positions. Logits equal a full prefill's within float32
 * rounding.
 */
export function prefixCachingStepper(run: Run, cache: PrefixCache): NextTokenStepper {
  const names = cacheNames(cache.layout);
  const { cacheHeads: heads, headSize } = cache.layout;
  let past: OnnxPastKeyValues | undefined;
  let mask: number[][] = [];
  /** Per row, the positions of the layout that hold its real tokens, in order. */
  let real: number[][] = [];

  return {
    async start(input) {
      const prompts = input.tokenIds.map((row, b) =>
        row.filter((_, t) => (input.attentionMask[b] as number[])[t] === 1),
      );
      const hits = prompts.map((prompt) => cache.lookup(prompt));
      prompts.forEach((prompt, b) => {
        cache.count(prompt, hits[b]?.tokens.length ?? 0);
      });
      if (hits.every((hit) => hit === undefined)) {
        mask = input.attentionMask.map((row) => [...row]);
        real = mask.map((row) => row.flatMap((value, t) => (value === 1 ? [t] : [])));
        const output = await run(input);
        past = output.present;
        return output.logits;
      }
      const rows = prompts.length;
      const cached = hits.map((hit) => hit?.tokens.length ?? 0);
      const longestCached = Math.max(...cached);
      const rest = prompts.map((prompt, b) => prompt.length - (cached[b] as number));
      const longestRest = Math.max(...rest);
      const given: OnnxPastKeyValues = {};
      for (const name of names) {
        const values = new Float32Array(rows * heads * longestCached * headSize);
        hits.forEach((hit, b) => {
          if (hit === undefined) return;
          const length = hit.tokens.length;
          const source = hit.kv[name] as Float32Array;
          for (let h = 0; h < heads; h++) {
            const target = ((b * heads + h) * longestCached + longestCached - length) * headSize;
            values.set(source.subarray(h * length * headSize, (h + 1) * length * headSize), target);
          }
        });
        given[name] = new ort.Tensor('float32', values, [rows, heads, longestCached, headSize]);
      }
      mask = [];
      real = [];
      const tokenIds: number[][] = [];
      const positionIds: number[][] = [];
      prompts.forEach((prompt, b) => {
        const reused = cached[b] as number;
        const length = rest[b] as number;
        const cachedPad = longestCached - reused;
        const restPad = longestRest - length;
        mask.push([
          ...new Array<number>(cachedPad).fill(0),
          ...new Array<number>(reused).fill(1),
          ...new Array<number>(restPad).fill(0),
          ...new Array<number>(length).fill(1),
        ]);
        real.push([
          ...Array.from({ length: reused }, (_, t) => cachedPad + t),
          ...Array.from({ length }, (_, t) => longestCached + restPad + t),
        ]);
        // Padding takes a real token's id (never attended to); positions continue after the cached part.
        const padId = prompt[0] as number;
        tokenIds.push([...new Array<number>(restPad).fill(padId), ...prompt.slice(reused)]);
        positionIds.push([
          ...new Array<number>(restPad).fill(0),
          ...Array.from({ length }, (_, t) => reused + t),
        ]);
      });
      const output = await run({ tokenIds, attentionMask: mask, positionIds, past: given });
      past = output.present;
      return output.logits;
    },
    async step(input) {
      input.attentionMask.forEach((row, b) => {
        const ownRow = mask[b] as number[];
        if (row[row.length - 1] === 1) (real[b] as number[]).push(ownRow.length);
        ownRow.push(row[row.length - 1] as number);
      });
      const output = await run({
        tokenIds: input.tokenIds,
        attentionMask: mask,
        positionIds: input.positionIds,
        ...(past === undefined ? {} : { past }),
      });
      past = output.present;
      return output.logits;
    },
    finish(sequences) {
      if (past === undefined) return;
      const width = (mask[0] as number[]).length;
      sequences.forEach((sequence, b) => {
        const positions = real[b] as number[];
        // The last sampled tokens were never fed: keep the tokens whose keys and values exist.
        const length = Math.min(positions.length, sequence.length);
        // Real positions come in a few contiguous runs (cached part, new part, sampled tokens).
        const runs: [number, number, number][] = [];
        for (let t = 0; t < length; t++) {
          const position = positions[t] as number;
          const last = runs[runs.length - 1];
          if (last !== undefined && last[1] + last[2] === position) last[2]++;
          else runs.push([t, position, 1]);
        }
        const kv: Record<string, Float32Array> = {};
        for (const name of names) {
          const source = (past as OnnxPastKeyValues)[name]?.data as Float32Array;
          const values = new Float32Array(heads * length * headSize);
          for (let h = 0; h < heads; h++) {
            for (const [t, position, count] of runs) {
              const from = ((b * heads + h) * width + position) * headSize;
              values.set(
                source.subarray(from, from + count * headSize),
                (h * length + t) * headSize,
              );
            }
          }
          kv[name] = values;
        }
        cache.store({ tokens: sequence.slice(0, length), kv });
      });
    },
  };
}
