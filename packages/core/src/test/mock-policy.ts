import { InvalidArgumentError } from '../errors';
import type {
  Policy,
  SampledCompletion,
  SampleRequest,
  TokenLogProbs,
  TokenLogProbsRequest,
} from '../policy';
import { sampleContextFree } from '../sample-context-free';
import type { Tokenizer } from '../tokenizer';
import { MockTokenizer } from './mock-tokenizer';

/**
 * A policy over plain arrays whose next-token distribution ignores the context:
 * `softmax(logits / temperature)` with fixed `logits`. It samples for real with
 * the seed it is given and records every call, so that tests of trainers and
 * environments can check what was asked of the policy.
 *
 * Its "tensors" are `number[][]`, so it is not trainable: `trainableVariables`
 * is empty.
 */
export class MockPolicy implements Policy<number[][], never> {
  readonly tokenizer: Tokenizer;
  version = 0;
  readonly sampleCalls: SampleRequest[] = [];
  readonly tokenLogProbsCalls: TokenLogProbsRequest[] = [];
  private readonly logits: number[];

  constructor(options: { logits: number[]; tokenizer?: Tokenizer }) {
    this.tokenizer = options.tokenizer ?? new MockTokenizer();
    if (options.logits.length !== this.tokenizer.vocabSize) {
      throw new InvalidArgumentError({
        argument: 'logits',
        value: options.logits.length,
        message: `must have one entry per token (vocabSize ${this.tokenizer.vocabSize})`,
      });
    }
    this.logits = options.logits;
  }

  /** Log-probabilities of the next token at a temperature. */
  logProbabilities(temperature = 1): number[] {
    const scaled = this.logits.map((logit) => logit / temperature);
    const maximum = Math.max(...scaled);
    const logSum =
      maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
    return scaled.map((value) => value - logSum);
  }

  async sample(request: SampleRequest): Promise<SampledCompletion[]> {
    this.sampleCalls.push(request);
    const temperature = request.temperature ?? 1;
    return sampleContextFree({
      request,
      logProbabilities: this.logProbabilities(temperature === 0 ? 1 : temperature),
      tokenizer: this.tokenizer,
    });
  }

  tokenLogProbs(request: TokenLogProbsRequest): TokenLogProbs<number[][]> {
    this.tokenLogProbsCalls.push(request);
    const logProbabilities = this.logProbabilities(request.temperature ?? 1);
    const maximumLength = Math.max(0, ...request.sequences.map((sequence) => sequence.length));
    const logProbs = request.sequences.map((sequence) =>
      Array.from({ length: maximumLength }, (_, position) =>
        position === 0 || position >= sequence.length ? 0 : logProbabilities[sequence[position]!]!,
      ),
    );
    return { logProbs };
  }

  trainableVariables(): readonly never[] {
    return [];
  }
}
