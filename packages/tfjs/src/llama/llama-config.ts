import { InvalidArgumentError, parseWithSchema } from '@cohort/core';
import { z } from 'zod';

/** The Hugging Face `model_type`s that {@link LlamaConfig} covers. */
export const llamaModelTypes = ['llama', 'qwen2', 'qwen3'] as const;
export type LlamaModelType = (typeof llamaModelTypes)[number];

/**
 * Rotary position embedding (RoPE, Su et al. 2021) frequency scaling, as
 * `rope_scaling` in `config.json`: `'linear'` divides every frequency by
 * `factor`; `'llama3'` is the wavelength-dependent scaling of Llama 3.1
 * (`_compute_llama3_parameters` in transformers' `modeling_rope_utils.py`).
 */
export const RopeScalingSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('linear'), factor: z.number().positive() }).strict(),
  z
    .object({
      type: z.literal('llama3'),
      factor: z.number().positive(),
      lowFrequencyFactor: z.number().positive(),
      highFrequencyFactor: z.number().positive(),
      originalContextLength: z.number().int().positive(),
    })
    .strict(),
]);
export type RopeScaling = z.output<typeof RopeScalingSchema>;

/**
 * Configuration of a Llama-family causal language model (Llama, SmolLM,
 * Qwen2, Qwen3) in Cohort's names, with the switches that tell the families
 * apart. {@link llamaConfigFromHuggingFace} and {@link llamaConfigToHuggingFace}
 * map it to and from `config.json`.
 */
export const LlamaConfigSchema = z
  .object({
    modelType: z.enum(llamaModelTypes).describe('Hugging Face model_type'),
    vocabSize: z.number().int().positive(),
    hiddenSize: z.number().int().positive(),
    intermediateSize: z.number().int().positive().describe('width of the SwiGLU MLP'),
    layerCount: z.number().int().positive(),
    headCount: z.number().int().positive(),
    keyValueHeadCount: z
      .number()
      .int()
      .positive()
      .describe('grouped-query attention: key/value heads, each shared by headCount / this'),
    headSize: z.number().int().positive().describe('head_dim; hiddenSize / headCount unless set'),
    contextLength: z.number().int().positive().describe('max_position_embeddings'),
    rmsNormEpsilon: z.number().positive(),
    ropeTheta: z.number().positive(),
    ropeScaling: RopeScalingSchema.nullable(),
    tieWordEmbeddings: z.boolean(),
    queryKeyValueBias: z.boolean().describe('biases on q/k/v projections (Qwen2; attention_bias)'),
    outputBias: z.boolean().describe('bias on o_proj (Llama and Qwen3 attention_bias)'),
    mlpBias: z.boolean().describe('biases on gate/up/down (Llama mlp_bias)'),
    queryKeyNorm: z.boolean().describe('per-head RMSNorm of queries and keys (Qwen3)'),
    bosTokenId: z.number().int().nonnegative(),
    eosTokenId: z.number().int().nonnegative(),
  })
  .strict()
  .refine((config) => config.headCount % config.keyValueHeadCount === 0, {
    message: 'headCount must be a multiple of keyValueHeadCount',
    path: ['keyValueHeadCount'],
  })
  .refine((config) => config.headSize % 2 === 0, {
    message: 'headSize must be even (rotary embeddings rotate pairs)',
    path: ['headSize'],
  })
  .refine(
    (config) => config.bosTokenId < config.vocabSize && config.eosTokenId < config.vocabSize,
    {
      message: 'bosTokenId and eosTokenId must be below vocabSize',
      path: ['eosTokenId'],
    },
  );

export type LlamaConfig = z.output<typeof LlamaConfigSchema>;

/** What {@link parseLlamaConfig} accepts: the required sizes, and the rest defaulted per family. */
export type LlamaConfigInput = Pick<
  LlamaConfig,
  'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'layerCount' | 'headCount'
> &
  Partial<LlamaConfig>;

/** Per-family defaults, as `transformers` sets them in each configuration class. */
function familyDefaults(modelType: LlamaModelType): Partial<LlamaConfig> {
  const common = {
    rmsNormEpsilon: 1e-6,
    ropeTheta: 10000,
    ropeScaling: null,
    bosTokenId: 0,
    eosTokenId: 0,
    mlpBias: false,
  };
  if (modelType === 'qwen2') {
    return {
      ...common,
      tieWordEmbeddings: false,
      queryKeyValueBias: true,
      outputBias: false,
      queryKeyNorm: false,
    };
  }
  if (modelType === 'qwen3') {
    return {
      ...common,
      tieWordEmbeddings: false,
      queryKeyValueBias: false,
      outputBias: false,
      queryKeyNorm: true,
    };
  }
  return {
    ...common,
    tieWordEmbeddings: false,
    queryKeyValueBias: false,
    outputBias: false,
    queryKeyNorm: false,
  };
}

/**
 * Validates a Llama-family config, filling what is omitted with the family's
 * defaults (`modelType` defaults to `'llama'`, `keyValueHeadCount` to
 * `headCount`, `headSize` to `hiddenSize / headCount`, `contextLength` to 2048).
 * Throws a `ValidationError` naming every bad field.
 *
 * @example
 * ```ts
 * const config = parseLlamaConfig({ modelType: 'qwen2', vocabSize: 64, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, keyValueHeadCount: 2 });
 * config.queryKeyValueBias; // true
 * ```
 */
export function parseLlamaConfig(input: LlamaConfigInput | Record<string, unknown>): LlamaConfig {
  const raw = input as Record<string, unknown>;
  const modelType = (raw.modelType ?? 'llama') as LlamaModelType;
  const defaults = llamaModelTypes.includes(modelType) ? familyDefaults(modelType) : {};
  const headCount = raw.headCount;
  const hiddenSize = raw.hiddenSize;
  const derived: Record<string, unknown> = { contextLength: 2048 };
  if (typeof headCount === 'number') derived.keyValueHeadCount = headCount;
  if (typeof headCount === 'number' && typeof hiddenSize === 'number' && headCount > 0) {
    derived.headSize = Math.floor(hiddenSize / headCount);
  }
  const withDefaults: Record<string, unknown> = { ...defaults, ...derived, modelType };
  for (const [key, value] of Object.entries(raw))
    if (value !== undefined) withDefaults[key] = value;
  return parseWithSchema(LlamaConfigSchema, withDefaults, 'Llama config');
}

function firstId(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function ropeScalingFromHuggingFace(json: unknown): RopeScaling | null {
  if (json === null || json === undefined) return null;
  if (typeof json !== 'object') {
    throw new InvalidArgumentError({
      argument: 'config.json rope_scaling',
      value: json,
      message: 'must be an object or null',
    });
  }
  const scaling = json as Record<string, unknown>;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: scaling.factor as number };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: scaling.factor as number,
      lowFrequencyFactor: scaling.low_freq_factor as number,
      highFrequencyFactor: scaling.high_freq_factor as number,
      originalContextLength: scaling.original_max_position_embeddings as number,
    };
  }
  throw new InvalidArgumentError({
    argument: 'config.json rope_scaling.rope_type',
    value: type,
    message: "is not supported; supported: 'default', 'linear', 'llama3'",
  });
}

/**
 * Reads a Hugging Face `config.json` object of model_type `llama`, `qwen2` or
 * `qwen3` (SmolLM and SmolLM2 are `llama`) into a {@link LlamaConfig}.
 * Throws `InvalidArgumentError` naming an unknown `model_type` or an
 * unsupported `rope_scaling`, `ValidationError` naming a bad field.
 *
 * @example
 * ```ts
 * const config = llamaConfigFromHuggingFace(JSON.parse(await readFile('SmolLM2-135M/config.json', 'utf8')));
 * ```
 */
export function llamaConfigFromHuggingFace(json: Record<string, unknown>): LlamaConfig {
  const modelType = json.model_type;
  if (
    typeof modelType !== 'string' ||
    !(llamaModelTypes as readonly string[]).includes(modelType)
  ) {
    throw new InvalidArgumentError({
      argument: 'config.json model_type',
      value: modelType,
      message: `is not a Llama-family model; supported: ${llamaModelTypes.join(', ')}`,
    });
  }
  if (json.hidden_act !== undefined && json.hidden_act !== 'silu') {
    throw new InvalidArgumentError({
      argument: 'config.json hidden_act',
      value: json.hidden_act,
      message: "must be 'silu' (SwiGLU)",
    });
  }
  const type = modelType as LlamaModelType;
  const attentionBias = json.attention_bias === true;
  const input: Record<string, unknown> = {
    modelType: type,
    vocabSize: json.vocab_size,
    hiddenSize: json.hidden_size,
    intermediateSize: json.intermediate_size,
    layerCount: json.num_hidden_layers,
    headCount: json.num_attention_heads,
    keyValueHeadCount: json.num_key_value_heads ?? json.num_attention_heads,
    headSize: json.head_dim ?? undefined,
    contextLength: json.max_position_embeddings,
    rmsNormEpsilon: json.rms_norm_eps,
    ropeTheta: json.rope_theta,
    ropeScaling: ropeScalingFromHuggingFace(json.rope_scaling),
    tieWordEmbeddings: json.tie_word_embeddings,
    bosTokenId: firstId(json.bos_token_id) ?? undefined,
    eosTokenId: firstId(json.eos_token_id) ?? undefined,
  };
  if (type === 'llama') {
    input.queryKeyValueBias = attentionBias;
    input.outputBias = attentionBias;
    input.mlpBias = json.mlp_bias === true;
  } else if (type === 'qwen3') {
    input.queryKeyValueBias = attentionBias;
    input.outputBias = attentionBias;
  }
  // transformers' LlamaConfig and Qwen configs default tie_word_embeddings to false.
  if (input.tieWordEmbeddings === undefined) input.tieWordEmbeddings = false;
  return parseLlamaConfig(input);
}

/** The Hugging Face `config.json` object for a {@link LlamaConfig}, as `transformers` writes it. */
export function llamaConfigToHuggingFace(config: LlamaConfig): Record<string, unknown> {
  const architectures: Record<LlamaModelType, string> = {
    llama: 'LlamaForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    qwen3: 'Qwen3ForCausalLM',
  };
  const json: Record<string, unknown> = {
    architectures: [architectures[config.modelType]],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.layerCount,
    num_attention_heads: config.headCount,
    num_key_value_heads: config.keyValueHeadCount,
    head_dim: config.headSize,
    max_position_embeddings: config.contextLength,
    rms_norm_eps: config.rmsNormEpsilon,
    rope_theta: config.ropeTheta,
    rope_scaling:
      config.ropeScaling === null
        ? null
        : config.ropeScaling.type === 'linear'
          ? { rope_type: 'linear', factor: config.ropeScaling.factor }
          : {
              rope_type: 'llama3',
              factor: config.ropeScaling.factor,
              low_freq_factor: config.ropeScaling.lowFrequencyFactor,
              high_freq_factor: config.ropeScaling.highFrequencyFactor,
              original_max_position_embeddings: config.ropeScaling.originalContextLength,
            },
    tie_word_embeddings: config.tieWordEmbeddings,
    hidden_act: 'silu',
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    torch_dtype: 'float32',
    use_cache: true,
  };
  if (config.modelType === 'llama') {
    json.attention_bias = config.queryKeyValueBias;
    json.mlp_bias = config.mlpBias;
  } else if (config.modelType === 'qwen3') {
    json.attention_bias = config.queryKeyValueBias;
  }
  return json;
}

/**
 * Checks that a config's switches are ones its family can express in
 * `config.json` (for example Qwen2 always has q/k/v biases and never an
 * o_proj bias), so a saved folder reloads as the same model.
 */
export function assertLlamaSwitchesExpressible(config: LlamaConfig): void {
  const fail = (field: string, value: unknown, message: string): never => {
    throw new InvalidArgumentError({ argument: `config.${field}`, value, message });
  };
  if (config.modelType === 'qwen2') {
    if (!config.queryKeyValueBias)
      fail('queryKeyValueBias', false, 'Qwen2 always has q/k/v biases');
    if (config.outputBias) fail('outputBias', true, 'Qwen2 has no o_proj bias');
  }
  if (config.modelType !== 'qwen3' && config.queryKeyNorm) {
    fail('queryKeyNorm', true, 'only Qwen3 has q/k norms');
  }
  if (config.modelType === 'qwen3' && !config.queryKeyNorm) {
    fail('queryKeyNorm', false, 'Qwen3 always has q/k norms');
  }
  if (config.modelType !== 'qwen2' && config.queryKeyValueBias !== config.outputBias) {
    fail('outputBias', config.outputBias, 'attention_bias sets q/k/v and o biases together');
  }
  if (config.modelType !== 'llama' && config.mlpBias) {
    fail('mlpBias', true, 'only Llama has mlp_bias');
  }
}
