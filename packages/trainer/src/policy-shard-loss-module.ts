/** Run from TypeScript sources (tests, benchmarks), the shard loss is imported as `.ts`; from the build, as `.js`. */
const runsFromSource = import.meta.url.endsWith('.ts');

/**
 * The URL of the trainer's policy shard loss, the `lossModule` to start a
 * data-parallel learner with for `GrpoTrainer`'s `dataParallel` option.
 *
 * @example
 * ```ts
 * const learner = await createDataParallelLearner({ config: policy.model.config, lossModule: policyShardLossModule(), workerCount: 2 });
 * const trainer = new GrpoTrainer({ policy, ..., dataParallel: { learner, model: policy.model } });
 * ```
 */
export function policyShardLossModule(): string {
  return new URL(
    runsFromSource ? './policy-shard-loss.ts' : './policy-shard-loss.js',
    import.meta.url,
  ).href;
}
