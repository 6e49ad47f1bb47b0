export type { ValidationIssue } from './errors';
export {
  CheckpointError,
  CohortError,
  InvalidArgumentError,
  NonFiniteError,
  ValidationError,
} from './errors';
export type { RandomState } from './random';
export { Random } from './random';
export { assertFiniteArray, assertInRange, assertInteger, parseWithSchema } from './validate';
