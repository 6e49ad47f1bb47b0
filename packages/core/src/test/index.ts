export { MockPolicy } from './mock-policy';
export { MockTokenizer } from './mock-tokenizer';
export { RecordingReward } from './recording-reward';
export { sampleContextFree } from './sample-context-free';
