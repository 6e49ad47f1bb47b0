export type { ValidationIssue } from './errors';
export {
  CheckpointError,
  CohortError,
  InvalidArgumentError,
  NonFiniteError,
  ValidationError,
} from './errors';
export type { Message, Role } from './message';
export { MessageSchema } from './message';
export type { RandomState } from './random';
export { Random } from './random';
export type { ChatTemplateOptions, Tokenizer } from './tokenizer';
export { assertFiniteArray, assertInRange, assertInteger, parseWithSchema } from './validate';
