export type {
  DataParallelBatch,
  DataParallelGradients,
} from './data-parallel-learner';
export { createDataParallelLearner, DataParallelLearner } from './data-parallel-learner';
export type {
  DataParallelLearnerOptions,
  DataParallelLearnerOptionsInput,
} from './data-parallel-learner-options';
export { DataParallelLearnerOptionsSchema } from './data-parallel-learner-options';
export type { ShardLoss, ShardLossContext } from './data-parallel-protocol';
export { DataParallelWorkerError } from './data-parallel-worker-error';
