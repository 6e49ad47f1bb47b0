import { parseWithSchema } from '@cohort/core';
import { z } from 'zod';

/**
 * Configuration of a GPT-2-style causal language model, in Cohort's names.
 * {@link gpt2ConfigToHuggingFace} and {@link gpt2ConfigFromHuggingFace} map it
 * to and from the `config.json` that Hugging Face and transformers.js read.
 */
export const Gpt2ConfigSchema = z
  .object({
    vocabSize: z.number().int().positive(),
    contextLength: z.number().int().positive(),
    embeddingSize: z.number().int().positive(),
    layerCount: z.number().int().positive(),
    headCount: z.number().int().positive(),
    layerNormEpsilon: z.number().positive().default(1e-5),
    bosTokenId: z.number().int().nonnegative().default(0),
    eosTokenId: z.number().int().nonnegative().default(0),
    /** Width of the MLP; GPT-2 uses 4 * embeddingSize. */
    innerSize: z.number().int().positive().optional(),
  })
  .strict()
  .refine((config) => config.embeddingSize % config.headCount === 0, {
    message: 'embeddingSize must be divisible by headCount',
    path: ['headCount'],
  });

export type Gpt2Config = z.output<typeof Gpt2ConfigSchema>;
export type Gpt2ConfigInput = z.input<typeof Gpt2ConfigSchema>;

/** Validates a GPT-2 config, naming any bad field. */
export function parseGpt2Config(input: unknown): Gpt2Config {
  return parseWithSchema(Gpt2ConfigSchema, input, 'GPT-2 config');
}

/** The Hugging Face `config.json` object for a GPT-2 model with tied embeddings. */
export function gpt2ConfigToHuggingFace(config: Gpt2Config): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.contextLength,
    n_ctx: config.contextLength,
    n_embd: config.embeddingSize,
    n_layer: config.layerCount,
    n_head: config.headCount,
    n_inner: config.innerSize ?? null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: config.layerNormEpsilon,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    tie_word_embeddings: true,
    use_cache: true,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
  };
}

/** Reads a Hugging Face GPT-2 `config.json` object into a {@link Gpt2Config}. */
export function gpt2ConfigFromHuggingFace(json: Record<string, unknown>): Gpt2Config {
  if (json.model_type !== undefined && json.model_type !== 'gpt2') {
    return parseGpt2Config({ modelType: json.model_type });
  }
  return parseGpt2Config({
    vocabSize: json.vocab_size,
    contextLength: json.n_positions ?? json.n_ctx,
    embeddingSize: json.n_embd,
    layerCount: json.n_layer,
    headCount: json.n_head,
    layerNormEpsilon: json.layer_norm_epsilon ?? 1e-5,
    bosTokenId: json.bos_token_id ?? 0,
    eosTokenId: json.eos_token_id ?? 0,
    ...(typeof json.n_inner === 'number' ? { innerSize: json.n_inner } : {}),
  });
}
