import {
  type GenerationSummary,
  type RandomState,
  ValidationError,
  type ValidationIssue,
} from '@cohort/core';
import type { JsonValue } from './genome-kind';

/** One member in a saved {@link PopulationState}. */
export interface GenomeState {
  id: string;
  kind: string;
  value: JsonValue;
  generation: number;
  parentIds: string[];
  origin: string;
}

/** The JSON-serializable state of an `EvolutionaryPopulation` (for trainer checkpoints). */
export interface PopulationState {
  format: 'cohort.evolution.population';
  version: 1;
  kind: string;
  size: number;
  generation: number;
  /** Counter of the next genome id. */
  nextId: number;
  random: RandomState;
  members: GenomeState[];
  /** Cached fitness by genome id. */
  fitness: { id: string; fitness: number }[];
  history: GenerationSummary[];
}

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === 'string';
const isFiniteNumber: Check = (value) => typeof value === 'number' && Number.isFinite(value);
const isCount: Check = (value) => Number.isInteger(value) && (value as number) >= 0;

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Checks that `state` is a {@link PopulationState} of the expected kind and
 * size, and returns it typed.
 *
 * @throws ValidationError listing every bad field by path (`members.3.id`, ...).
 *
 * @example
 * ```ts
 * const state = decodePopulationState(JSON.parse(text), { kind: 'prompt', size: 8 });
 * ```
 */
export function decodePopulationState(
  state: unknown,
  expected: { kind: string; size: number },
): PopulationState {
  const issues: ValidationIssue[] = [];
  const check = (path: string, value: unknown, test: Check, message: string): void => {
    if (!test(value)) issues.push({ path, message });
  };
  const root = record(state);
  if (!root) {
    throw new ValidationError({
      what: 'population state',
      issues: [{ path: '', message: 'must be an object' }],
    });
  }
  check(
    'format',
    root.format,
    (value) => value === 'cohort.evolution.population',
    'unknown format',
  );
  check('version', root.version, (value) => value === 1, 'unsupported version (expected 1)');
  check('kind', root.kind, (value) => value === expected.kind, `must be '${expected.kind}'`);
  check('size', root.size, (value) => value === expected.size, `must be ${expected.size}`);
  check('generation', root.generation, isCount, 'must be an integer >= 0');
  check('nextId', root.nextId, isCount, 'must be an integer >= 0');
  const random = record(root.random);
  check(
    'random',
    random,
    () =>
      random?.algorithm === 'xoshiro128**' &&
      Array.isArray(random.words) &&
      random.words.length === 4 &&
      random.words.every(isCount),
    'must be a saved xoshiro128** state',
  );
  const members = Array.isArray(root.members) ? root.members : [];
  check('members', root.members, (value) => Array.isArray(value), 'must be an array');
  check(
    'members',
    members.length,
    (value) => value === expected.size,
    `must hold ${expected.size}`,
  );
  members.forEach((member, index) => {
    const entry = record(member);
    const path = `members.${index}`;
    if (!entry) {
      issues.push({ path, message: 'must be an object' });
      return;
    }
    check(`${path}.id`, entry.id, isString, 'must be a string');
    check(
      `${path}.kind`,
      entry.kind,
      (value) => value === expected.kind,
      `must be '${expected.kind}'`,
    );
    check(`${path}.value`, entry.value, (value) => value !== undefined, 'is missing');
    check(`${path}.generation`, entry.generation, isCount, 'must be an integer >= 0');
    check(
      `${path}.parentIds`,
      entry.parentIds,
      (value) => Array.isArray(value) && value.every(isString),
      'must be an array of strings',
    );
    check(`${path}.origin`, entry.origin, isString, 'must be a string');
  });
  const fitness = Array.isArray(root.fitness) ? root.fitness : [];
  check('fitness', root.fitness, (value) => Array.isArray(value), 'must be an array');
  fitness.forEach((entry, index) => {
    const item = record(entry);
    check(`fitness.${index}.id`, item?.id, isString, 'must be a string');
    check(`fitness.${index}.fitness`, item?.fitness, isFiniteNumber, 'must be a finite number');
  });
  const history = Array.isArray(root.history) ? root.history : [];
  check('history', root.history, (value) => Array.isArray(value), 'must be an array');
  history.forEach((entry, index) => {
    const item = record(entry);
    const path = `history.${index}`;
    check(`${path}.generation`, item?.generation, isCount, 'must be an integer >= 0');
    for (const field of ['bestFitness', 'meanFitness', 'worstFitness', 'diversity']) {
      check(`${path}.${field}`, item?.[field], isFiniteNumber, 'must be a finite number');
    }
    check(`${path}.bestGenomeId`, item?.bestGenomeId, isString, 'must be a string');
  });
  if (issues.length > 0) throw new ValidationError({ what: 'population state', issues });
  return state as PopulationState;
}
