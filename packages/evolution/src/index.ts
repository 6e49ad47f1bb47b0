export type { ExploitExploreOptions, ExploitStep } from './exploit-explore';
export { planExploitExplore } from './exploit-explore';
export type { FitnessInterval } from './fitness-interval';
export { fitnessInterval, normalQuantile } from './fitness-interval';
export type { GenomeKind, JsonValue, ValueCodec } from './genome-kind';
export { createGenome } from './genome-kind';
export type { AdoptionDecision, HybridGenerationOptions } from './hybrid-generation';
export { runHybridGeneration } from './hybrid-generation';
export type {
  HybridEvolutionScheduleOptions,
  HybridEvolutionScheduleState,
  HybridGenerationRecord,
} from './hybrid-schedule';
export { HybridEvolutionSchedule } from './hybrid-schedule';
export type { HyperparameterGenomeOptions } from './hyperparameter-genome';
export { hyperparameterGenome, perturbHyperparameters } from './hyperparameter-genome';
export type {
  HyperparameterBounds,
  HyperparameterSpace,
  Hyperparameters,
} from './hyperparameter-space';
export {
  assertHyperparameterSpace,
  clampHyperparameter,
  defaultHyperparameterSpace,
  hyperparameterDistance,
  sampleHyperparameter,
  sampleHyperparameters,
} from './hyperparameter-space';
export type { CachedFitnessFunction, MeanRewardFitnessOptions } from './mean-reward-fitness';
export { meanRewardFitness } from './mean-reward-fitness';
export type { ParameterVectorGenomeOptions } from './parameter-vector-genome';
export { parameterVectorGenome } from './parameter-vector-genome';
export type { PopulationOptions } from './population';
export { createPopulation, EvolutionaryPopulation } from './population';
export type { GenomeState, PopulationState } from './population-state';
export { decodePopulationState } from './population-state';
export type { PromptEdit, PromptEditOptions } from './prompt-edits';
export {
  applicablePromptEdits,
  applyPromptEdit,
  crossoverPrompts,
  editPrompt,
  promptEdits,
} from './prompt-edits';
export type { PromptGenomeOptions, RewriteRequest, TextRewriter } from './prompt-genome';
export {
  defaultCrossoverInstruction,
  defaultMutationInstruction,
  promptGenome,
} from './prompt-genome';
export {
  joinSentences,
  normalizedEditDistance,
  splitSentences,
  tokenJaccardDistance,
  wordTokens,
} from './prompt-text';
export type { SelectionStrategy } from './selection';
export { rankByFitness, tournamentSelection, truncationSelection } from './selection';
export { createSpliceRewriter } from './splice-rewriter';
export { decodeJsonValue, encodeJsonValue, jsonValueCodec } from './value-codec';
export type { GaussianMutationOptions, RowShape } from './vector-operators';
export {
  euclideanDistance,
  gaussianMutation,
  rowWiseCrossover,
  uniformCrossover,
} from './vector-operators';
