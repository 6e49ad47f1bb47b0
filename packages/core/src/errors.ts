const marker = 'cohort.error';
const symbol = Symbol.for(marker);

/**
 * Base class of every error that Cohort throws on purpose.
 *
 * `isInstance` checks a `Symbol.for` marker instead of the prototype chain, so it
 * works when two copies of `@cohort/core` are installed side by side.
 *
 * @example
 * ```ts
 * try { run(); } catch (error) { if (CohortError.isInstance(error)) console.error(error.message); }
 * ```
 */
export class CohortError extends Error {
  protected readonly [symbol] = true;

  constructor({ name, message, cause }: { name: string; message: string; cause?: unknown }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
  }

  static isInstance(error: unknown): error is CohortError {
    return CohortError.hasMarker(error, marker);
  }

  protected static hasMarker(error: unknown, markerName: string): boolean {
    if (error == null || typeof error !== 'object') return false;
    const markerSymbol = Symbol.for(markerName);
    return markerSymbol in error && (error as Record<symbol, unknown>)[markerSymbol] === true;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a typed array of length ${(value as Float32Array).length}`;
  try {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

const invalidArgumentMarker = 'cohort.error.invalid-argument';
const invalidArgumentSymbol = Symbol.for(invalidArgumentMarker);

/**
 * A public function was called with a bad argument. The message names the
 * argument and the value it had.
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError({ argument: 'groupSize', value: 0, message: 'must be a positive integer' });
 * // InvalidArgumentError: Invalid argument groupSize = 0: must be a positive integer
 * ```
 */
export class InvalidArgumentError extends CohortError {
  protected readonly [invalidArgumentSymbol] = true;
  readonly argument: string;
  readonly value: unknown;

  constructor({
    argument,
    value,
    message,
    cause,
  }: { argument: string; value: unknown; message: string; cause?: unknown }) {
    super({
      name: 'InvalidArgumentError',
      message: `Invalid argument ${argument} = ${describeValue(value)}: ${message}`,
      cause,
    });
    this.argument = argument;
    this.value = value;
  }

  static override isInstance(error: unknown): error is InvalidArgumentError {
    return CohortError.hasMarker(error, invalidArgumentMarker);
  }
}

const validationMarker = 'cohort.error.validation';
const validationSymbol = Symbol.for(validationMarker);

/** One problem found while validating data against a schema. */
export interface ValidationIssue {
  /** Dotted path of the offending field, for example `objective.clipLow`. */
  path: string;
  message: string;
}

/**
 * Data that crossed a boundary (a config, a scenario, a checkpoint) did not
 * match its schema. `issues` lists every bad field by path.
 */
export class ValidationError extends CohortError {
  protected readonly [validationSymbol] = true;
  readonly issues: readonly ValidationIssue[];
  readonly what: string;

  constructor({
    what,
    issues,
    cause,
  }: { what: string; issues: ValidationIssue[]; cause?: unknown }) {
    const lines = issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`);
    super({ name: 'ValidationError', message: `Invalid ${what}:\n${lines.join('\n')}`, cause });
    this.issues = issues;
    this.what = what;
  }

  static override isInstance(error: unknown): error is ValidationError {
    return CohortError.hasMarker(error, validationMarker);
  }
}

const nonFiniteMarker = 'cohort.error.non-finite';
const nonFiniteSymbol = Symbol.for(nonFiniteMarker);

/**
 * A number that must be finite was NaN or infinite. `quantity` names what it
 * was (`rewards[3]`, `loss`, `gradient norm`), so the bad value never travels
 * on silently.
 */
export class NonFiniteError extends CohortError {
  protected readonly [nonFiniteSymbol] = true;
  readonly quantity: string;
  readonly value: number;

  constructor({ quantity, value, context }: { quantity: string; value: number; context?: string }) {
    super({
      name: 'NonFiniteError',
      message: `${quantity} is ${value}${context ? ` (${context})` : ''}; expected a finite number`,
    });
    this.quantity = quantity;
    this.value = value;
  }

  static override isInstance(error: unknown): error is NonFiniteError {
    return CohortError.hasMarker(error, nonFiniteMarker);
  }
}

const checkpointMarker = 'cohort.error.checkpoint';
const checkpointSymbol = Symbol.for(checkpointMarker);

/** A checkpoint is missing, damaged, or does not match what loads it. */
export class CheckpointError extends CohortError {
  protected readonly [checkpointSymbol] = true;
  readonly path: string;

  constructor({ path, message, cause }: { path: string; message: string; cause?: unknown }) {
    super({ name: 'CheckpointError', message: `Checkpoint ${path}: ${message}`, cause });
    this.path = path;
  }

  static override isInstance(error: unknown): error is CheckpointError {
    return CohortError.hasMarker(error, checkpointMarker);
  }
}
