import { CheckpointError } from '@cohort/core';
import type { Gpt2Config } from './gpt2-config';
import type { WeightMap } from './weights';

/**
 * The shape of every parameter of a GPT-2 model with tied embeddings, keyed
 * by its Hugging Face name (`transformer.h.{i}.attn.c_attn.weight` is
 * `[E, 3E]`: Conv1D layout, input by output, query|key|value on the last
 * axis). The MLP width is `innerSize ?? 4E`.
 *
 * @example
 * ```ts
 * gpt2WeightShapes({ vocabSize: 10, contextLength: 8, embeddingSize: 4, layerCount: 1, headCount: 2, ... })['transformer.wte.weight']; // [10, 4]
 * ```
 */
export function gpt2WeightShapes(config: Gpt2Config): Record<string, number[]> {
  const width = config.embeddingSize;
  const inner = config.innerSize ?? 4 * width;
  const shapes: Record<string, number[]> = {
    'transformer.wte.weight': [config.vocabSize, width],
    'transformer.wpe.weight': [config.contextLength, width],
    'transformer.ln_f.weight': [width],
    'transformer.ln_f.bias': [width],
  };
  for (let layer = 0; layer < config.layerCount; layer++) {
    const prefix = `transformer.h.${layer}`;
    shapes[`${prefix}.ln_1.weight`] = [width];
    shapes[`${prefix}.ln_1.bias`] = [width];
    shapes[`${prefix}.attn.c_attn.weight`] = [width, 3 * width];
    shapes[`${prefix}.attn.c_attn.bias`] = [3 * width];
    shapes[`${prefix}.attn.c_proj.weight`] = [width, width];
    shapes[`${prefix}.attn.c_proj.bias`] = [width];
    shapes[`${prefix}.ln_2.weight`] = [width];
    shapes[`${prefix}.ln_2.bias`] = [width];
    shapes[`${prefix}.mlp.c_fc.weight`] = [width, inner];
    shapes[`${prefix}.mlp.c_fc.bias`] = [inner];
    shapes[`${prefix}.mlp.c_proj.weight`] = [inner, width];
    shapes[`${prefix}.mlp.c_proj.bias`] = [width];
  }
  return shapes;
}

/**
 * Brings a GPT-2 weight map from any Hugging Face checkpoint to Cohort's
 * names: adds the `transformer.` prefix where the file omits it (as
 * `openai-community/gpt2` does), and drops the non-parameter buffers
 * (`attn.bias`, `attn.masked_bias`) and `lm_head.weight` (tied to the token
 * embedding).
 *
 * @example
 * ```ts
 * normalizeGpt2WeightNames({ 'wte.weight': t, 'h.0.attn.bias': mask }); // { 'transformer.wte.weight': t }
 * ```
 */
export function normalizeGpt2WeightNames(weights: WeightMap): WeightMap {
  const normalized: WeightMap = {};
  for (const [name, tensor] of Object.entries(weights)) {
    if (
      name === 'lm_head.weight' ||
      name.endsWith('.attn.bias') ||
      name.endsWith('.attn.masked_bias')
    )
      continue;
    normalized[name.startsWith('transformer.') ? name : `transformer.${name}`] = tensor;
  }
  return normalized;
}

/**
 * Throws {@link CheckpointError} (at `source`) unless `weights` holds exactly
 * the parameters of {@link gpt2WeightShapes} with those shapes and sizes.
 *
 * @example
 * ```ts
 * checkGpt2Weights(config, weights, 'model.safetensors');
 * ```
 */
export function checkGpt2Weights(config: Gpt2Config, weights: WeightMap, source: string): void {
  const expected = gpt2WeightShapes(config);
  const missing = Object.keys(expected).filter((name) => !(name in weights));
  if (missing.length > 0) {
    throw new CheckpointError({
      path: source,
      message: `missing GPT-2 weights: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
    });
  }
  const unexpected = Object.keys(weights).filter((name) => !(name in expected));
  if (unexpected.length > 0) {
    throw new CheckpointError({
      path: source,
      message: `unexpected weights for this config: ${unexpected.slice(0, 5).join(', ')}`,
    });
  }
  for (const [name, shape] of Object.entries(expected)) {
    const tensor = weights[name];
    if (tensor === undefined) continue;
    const size = shape.reduce((a, b) => a * b, 1);
    if (
      tensor.shape.length !== shape.length ||
      tensor.shape.some((s, i) => s !== shape[i]) ||
      tensor.data.length !== size
    ) {
      throw new CheckpointError({
        path: source,
        message: `weight ${name} has shape [${tensor.shape.join(', ')}] (${tensor.data.length} values); the config needs [${shape.join(', ')}]`,
      });
    }
  }
}
