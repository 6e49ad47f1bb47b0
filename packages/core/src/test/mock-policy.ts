import { InvalidArgumentError } from '../errors';
import type {
  Policy,
  SampledCompletion,
  SampleRequest,
  TokenLogProbs,
  TokenLogProbsRequest,
} from '../policy';
import { Random } from '../random';
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
    const random = new Random(request.seed);
    const temperature = request.temperature ?? 1;
    const logProbabilities = this.logProbabilities(temperature === 0 ? 1 : temperature);
    const probabilities = logProbabilities.map(Math.exp);
    const stopIds = new Set([this.tokenizer.eosTokenId, ...(request.stopTokenIds ?? [])]);
    const completions: SampledCompletion[] = [];
    for (let promptIndex = 0; promptIndex < request.prompts.length; promptIndex++) {
      for (let sampleIndex = 0; sampleIndex < request.groupSize; sampleIndex++) {
        const tokenIds: number[] = [];
        const logProbsPerToken: number[] = [];
        let finishReason: SampledCompletion['finishReason'] = 'length';
        while (tokenIds.length < request.maxNewTokens) {
          const id =
            temperature === 0
              ? logProbabilities.indexOf(Math.max(...logProbabilities))
              : random.categorical(probabilities);
          tokenIds.push(id);
          logProbsPerToken.push(logProbabilities[id]!);
          if (stopIds.has(id)) {
            finishReason = id === this.tokenizer.eosTokenId ? 'eos' : 'stop';
            break;
          }
        }
        completions.push({ promptIndex, sampleIndex, tokenIds, logProbsPerToken, finishReason });
      }
    }
    return completions;
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
