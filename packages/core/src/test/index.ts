export { MockPolicy } from './mock-policy';
export { MockTokenizer } from './mock-tokenizer';
export { RecordingReward } from './recording-reward';
