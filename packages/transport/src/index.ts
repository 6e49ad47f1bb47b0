export { CollectAccumulator } from './collect-accumulator';
export {
  createInProcessTransport,
  InProcessTransport,
  type InProcessTransportOptions,
} from './in-process-transport';
export {
  type PolicySnapshot,
  type RolloutFailure,
  RolloutFailureSchema,
  RolloutIdSchema,
  type RolloutResult,
  RolloutResultSchema,
  type RolloutTask,
  RolloutTaskSchema,
} from './rollout-records';
export type {
  CollectReport,
  CollectRequest,
  RolloutTaskSource,
  RolloutTransport,
  TaskLease,
  TransportPosition,
} from './rollout-transport';
export {
  type RolloutHandler,
  type RolloutHandlerInput,
  type RolloutWorkerOptions,
  type RolloutWorkerSummary,
  runRolloutWorker,
} from './rollout-worker';
