import { readFileSync } from 'node:fs';
import { ValidationError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { defaultAppConfigInput, resolveAppConfig } from './app-config';
import { parseConfigText } from './config-file';
import { UsageError } from './exit-codes';

/** The documented examples: every YAML block of the README, and the default run. */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const documented: Record<string, unknown>[] = [
  ...[...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map(
    (match) => parseYaml(match[1]!) as Record<string, unknown>,
  ),
  structuredClone(defaultAppConfigInput) as Record<string, unknown>,
];

type Path = (string | number)[];
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every path in a JSON value (objects, arrays and leaves), the root excluded. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : isObject(value)
      ? Object.entries(value)
      : [];
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function leafPaths(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value) || isObject(value)) {
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    return entries.flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
  }
  return [prefix];
}

function get(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) {
    if (!(Array.isArray(current) || isObject(current))) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function parentAndKey(
  root: unknown,
  path: Path,
): [Record<string | number, unknown>, string | number] | undefined {
  const parent = get(root, path.slice(0, -1));
  if (!(Array.isArray(parent) || isObject(parent))) return undefined;
  return [parent as Record<string | number, unknown>, path.at(-1)!];
}

/** Values a mutation may put anywhere: edge numbers, wrong types, and anything JSON. */
const anyValue = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1,
    0.5,
    2,
    7,
    1e9,
    -1e9,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    1e-12,
    '',
    'x',
    'refunds',
    'balanced',
    'fixed',
    true,
    false,
    null,
    [],
    {},
    ['refunds', 'shipping'],
    { type: 'fixed', coefficient: 0.1 },
  ),
  fc.integer({ min: -5, max: 600 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: anyValue }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('add-key' as const),
    pick: fc.nat(),
    key: fc.constantFrom('typo', 'lr', 'stepz', 'extra', '__proto__x', 'Steps'),
    value: anyValue,
  }),
  fc.record({
    kind: fc.constant('rename' as const),
    pick: fc.nat(),
    suffix: fc.constantFrom('s', '_', 'X'),
  }),
);

function mutate(document: Record<string, unknown>, step: ValueOf<typeof mutation>): void {
  const paths = pathsOf(document);
  if (paths.length === 0) return;
  const path = paths[step.pick % paths.length]!;
  const located = parentAndKey(document, path);
  if (!located) return;
  const [parent, key] = located;
  switch (step.kind) {
    case 'replace':
      parent[key] = structuredClone(step.value);
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'add-key': {
      const target = isObject(parent[key]) ? (parent[key] as Record<string, unknown>) : parent;
      if (!Array.isArray(target)) target[step.key] = structuredClone(step.value);
      break;
    }
    case 'rename':
      if (!Array.isArray(parent) && typeof key === 'string') {
        parent[`${key}${step.suffix}`] = parent[key];
        delete parent[key];
      }
      break;
  }
}

/** Damage to the file's text: a duplicated line, a cut, an unknown tag, a stray character. */
const textDamage = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('duplicate-line' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('tag' as const),
    pick: fc.nat(),
    tag: fc.constantFrom('!foo ', '!!binary ', '!!set ', '!!python/object '),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom(':', '{', ']', '"', '\t', '&a ', '*a', '---\n', '#'),
  }),
);

function damage(text: string, step: ValueOf<typeof textDamage>): string {
  if (step.kind === 'none') return text;
  const lines = text.split('\n');
  switch (step.kind) {
    case 'duplicate-line': {
      const index = step.pick % lines.length;
      lines.splice(index, 0, lines[index]!);
      return lines.join('\n');
    }
    case 'cut':
      return text.slice(0, step.at % (text.length + 1));
    case 'tag': {
      const candidates = lines
        .map((line, index) => ({ line, index }))
        .filter(({ line }) => /: \S/.test(line));
      if (candidates.length === 0) return text;
      const { line, index } = candidates[step.pick % candidates.length]!;
      lines[index] = line.replace(/: (\S)/, `: ${step.tag}$1`);
      return lines.join('\n');
    }
    case 'insert': {
      const at = step.at % (text.length + 1);
      return text.slice(0, at) + step.text + text.slice(at);
    }
  }
  return text;
}

/** Numbers anywhere in a resolved config are finite (JSON cannot hold anything else). */
function everyNumberFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(everyNumberFinite);
  if (isObject(value)) return Object.values(value).every(everyNumberFinite);
  return true;
}

const topLevelKeys = new Set(Object.keys(resolveAppConfig({})));

describe('config fuzz: mutations of the documented examples', () => {
  it('never crashes or hangs, never accepts a config that loses or changes what the file says, and names the field or file position of every refusal', () => {
    const outcomes = { accepted: 0, refusedField: 0, refusedFile: 0 };
    const started = performance.now();
    fc.assert(
      fc.property(
        fc.nat({ max: documented.length - 1 }),
        fc.array(mutation, { minLength: 0, maxLength: 3 }),
        fc.boolean(),
        textDamage,
        (which, mutations, asJson, textStep) => {
          const document = structuredClone(documented[which]!);
          for (const step of mutations) mutate(document, step);
          const fileName = asJson ? 'fuzz.json' : 'fuzz.yaml';
          const text = damage(
            asJson ? JSON.stringify(document, null, 2) : stringifyYaml(document),
            textStep,
          );
          let input: Record<string, unknown>;
          try {
            input = parseConfigText(text, fileName);
          } catch (error) {
            expect(UsageError.isInstance(error), String(error)).toBe(true);
            expect((error as Error).message).toMatch(
              new RegExp(
                `^config file ${fileName.replace('.', '\\.')}( line \\d+ column \\d+)?: \\S`,
              ),
            );
            outcomes.refusedFile++;
            return;
          }
          let config: Record<string, unknown>;
          try {
            config = resolveAppConfig(input) as unknown as Record<string, unknown>;
          } catch (error) {
            expect(ValidationError.isInstance(error), String(error)).toBe(true);
            const issues = (error as ValidationError).issues;
            expect(issues.length).toBeGreaterThan(0);
            for (const issue of issues) {
              expect(issue.path, issue.message).not.toBe('');
              const first = issue.path.split('.')[0]!;
              expect(topLevelKeys.has(first) || first in input, issue.path).toBe(true);
              expect(issue.message.length).toBeGreaterThan(3);
            }
            outcomes.refusedField++;
            return;
          }
          // Accepted: everything the file says is in the config, unchanged (nothing dropped or coerced).
          for (const leaf of leafPaths(input)) {
            const written = get(input, leaf);
            if (isObject(written) || Array.isArray(written)) continue; // empty {} or []
            expect(get(config, leaf), leaf.join('.')).toEqual(written);
          }
          expect(everyNumberFinite(config)).toBe(true);
          const trainer = config.trainer as {
            generation: { maxNewTokens: number };
            maxSequenceLength: number;
            steps: number;
          };
          expect(trainer.generation.maxNewTokens).toBeLessThan(trainer.maxSequenceLength);
          expect(trainer.steps).toBeLessThanOrEqual(1_000_000);
          // Resolving the resolved config again changes nothing (it is what config.resolved.json holds).
          expect(resolveAppConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
          outcomes.accepted++;
        },
      ),
      { numRuns: 1000, seed: 20261201 },
    );
    // The generator reaches all three outcomes, often (accepted in about 1 run in 10, now that an
    // emptied `trainer:` section is refused instead of read as {}).
    expect(outcomes.accepted).toBeGreaterThan(80);
    expect(outcomes.refusedField).toBeGreaterThan(100);
    expect(outcomes.refusedFile).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(60_000);
  });
});
