import { toolCallFormats } from '@cohort/core';
import { toolPromptStyles } from '@cohort/environments';
import { z } from 'zod';

/** Zod schema of {@link RolloutGatewayOptions} (without the policy). */
export const RolloutGatewayOptionsSchema = z
  .object({
    /** Name the agent passes as `model`. */
    modelName: z
      .string()
      .min(1)
      .default('cohort-policy')
      .describe('Name the agent passes as `model`.'),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address to bind; loopback unless an apiKey is set.'),
    /** 0 picks a free port. */
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe('Port to bind; 0 picks a free one.'),
    apiKey: z
      .string()
      .min(16)
      .optional()
      .describe('Bearer key every request must carry; required off loopback.'),
    toolCallFormat: z
      .enum(toolCallFormats)
      .default('hermes')
      .describe('How the policy writes tool calls.'),
    toolPromptStyle: z
      .enum(toolPromptStyles)
      .default('json-schema')
      .describe(
        'How tool definitions are shown to the policy: full JSON (as Qwen/Llama templates), one line per tool (compact), or one line per tool with its argument names only (signatures), for small models with short contexts.',
      ),
    /** Context of the policy: prompt plus completion tokens. */
    contextLength: z.number().int().positive().describe('Most tokens of prompt plus completion.'),
    defaultMaxTokens: z
      .number()
      .int()
      .positive()
      .default(128)
      .describe('Completion length when a request gives none.'),
    episodeTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(300_000)
      .describe('An episode with no call and no reward for this long is given up.'),
    maxBodyBytes: z.number().int().positive().default(4_000_000).describe('Largest request body.'),
  })
  .strict();

export type RolloutGatewayOptions = z.input<typeof RolloutGatewayOptionsSchema>;
