import type { Gpt2ConfigInput, LlamaConfigInput, LoraOptions } from '@cohort/tfjs';

/** Weights as they cross threads: values and shape by name. */
export type PoolWeights = Record<string, { values: Float32Array; shape: number[] }>;

/** What a worker of an `OnnxLearnerPool` is started with. */
export type OnnxLearnerPoolWorkerData = {
  padTokenId?: number | undefined;
  sequencesPerRun?: number | undefined;
  tokensPerRun?: number | undefined;
} & (
  | { family: 'llama'; config: LlamaConfigInput; lora?: LoraOptions | undefined }
  | { family: 'gpt2'; config: Gpt2ConfigInput }
);

/** A message from the pool to a worker. */
export type OnnxLearnerPoolRequest = { id: number } & (
  | { type: 'ready' }
  | { type: 'frozen'; weights: PoolWeights }
  | {
      type: 'logProbs' | 'gradients';
      weights: PoolWeights;
      sequences: number[][];
      temperature?: number;
      /** `[b, T]` row-major for this worker's rows, `T` their longest. */
      dLogp?: Float32Array;
      dEntropy?: Float32Array;
    }
);

/** A worker's answer to the request of the same `id`. */
export interface OnnxLearnerPoolResponse {
  id: number;
  error?: { message: string; argument?: string; value?: unknown };
  logProbs?: Float32Array;
  entropy?: Float32Array;
  shape?: [number, number];
  gradients?: Record<string, Float32Array>;
}
