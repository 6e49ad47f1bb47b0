import {
  type Gpt2Config,
  type Gpt2ConfigInput,
  type LlamaConfig,
  type LlamaConfigInput,
  LoraOptionsSchema,
} from '@cohort/tfjs';
import { z } from 'zod';

/** The session options every family's learner takes. */
const sessionFields = {
  intraOpNumThreads: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe(
      'ONNX Runtime threads per operator; 1 by default so that the learner keeps to one core beside the rest of the run',
    ),
  sequencesPerRun: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'sequences per ONNX Runtime run: a call runs its batch in groups of this many (each padded to its own longest) and adds their gradients, so fewer activations are held at once; default every sequence in one run',
    ),
  tokensPerRun: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'padded tokens per ONNX Runtime run at most (sequences x their longest; one sequence alone may exceed it), with sequencesPerRun; default no limit',
    ),
  memoryArena: z
    .boolean()
    .optional()
    .describe(
      "keep ONNX Runtime's CPU arena and memory patterns (the largest run's buffers stay for the session's life): faster for short sequences, more memory for long ones; default true for a context up to 512 tokens",
    ),
  padTokenId: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe(
      'id written into right padding (never attended to by a real token); default config.eosTokenId',
    ),
};

/** Options of {@link createOnnxLlamaLearner}. */
export const OnnxLlamaLearnerOptionsSchema = z
  .object({
    config: z
      .custom<LlamaConfigInput | LlamaConfig>(
        (value) => typeof value === 'object' && value !== null,
        'must be a Llama config object',
      )
      .describe('the Llama-family model config (LlamaModel.config)'),
    lora: LoraOptionsSchema.optional().describe(
      "the model's LoRA options (LlamaModel.lora): then only the adapters get gradients, and the base weights are frozen inputs",
    ),
    ...sessionFields,
  })
  .strict();

export type OnnxLlamaLearnerOptionsInput = z.input<typeof OnnxLlamaLearnerOptionsSchema>;
export type OnnxLlamaLearnerOptions = z.output<typeof OnnxLlamaLearnerOptionsSchema>;

/** Options of {@link createOnnxGptLearner}. */
export const OnnxGptLearnerOptionsSchema = z
  .object({
    config: z
      .custom<Gpt2ConfigInput | Gpt2Config>(
        (value) => typeof value === 'object' && value !== null,
        'must be a GPT-2 config object',
      )
      .describe('the GPT-2 model config (GptModel.config)'),
    ...sessionFields,
  })
  .strict();

export type OnnxGptLearnerOptionsInput = z.input<typeof OnnxGptLearnerOptionsSchema>;
export type OnnxGptLearnerOptions = z.output<typeof OnnxGptLearnerOptionsSchema>;
