export type { KlEstimatorConformanceOptions, PolicyConformanceOptions } from './conformance';
export {
  ConformanceError,
  checkEnvironmentConformance,
  checkKlEstimatorConformance,
  checkPolicyConformance,
  checkReferenceModelConformance,
  checkRewardFunctionConformance,
} from './conformance';
export type { NumberArray } from './expect-arrays-close';
export { expectArraysClose } from './expect-arrays-close';
export {
  expectGradientMatchesFiniteDifference,
  finiteDifferenceGradient,
} from './finite-difference';
export { MockPolicy } from './mock-policy';
export { MockTokenizer } from './mock-tokenizer';
export { RecordingReward } from './recording-reward';
